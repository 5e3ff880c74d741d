/**
 * The child process of test/fault/batch-crash.test.ts: rebuilds one day of a local lake with the
 * real batch job (local/batch/duckdb-runner.ts) and kills itself with SIGKILL at a chosen step of a
 * chosen table's build, optionally some milliseconds later (to land inside the DuckDB COPY that
 * writes the partition). Every step reached is written to stdout synchronously first, so the
 * parent knows the last one:
 *
 *   STEP events writing
 *   STEP events staged
 *   ...
 *   DONE                      (only when no kill point was reached)
 *
 * Run with: node --import tsx test/fault/batch-crash-child.ts '<BatchCrashChildConfig JSON>'
 */
import * as fs from 'node:fs';
import { type BuildPhase, LocalLake } from '../../local/batch/duckdb-runner';

export interface BatchCrashChildConfig {
  readonly lakeDir: string;
  readonly day: string;
  readonly maxClockSkewMs: number;
  readonly killAt: {
    readonly table: string;
    readonly phase: BuildPhase;
    /** Kill this long after the step instead of at once. @default 0 */
    readonly delayMs?: number;
  };
}

const kill = (): void => {
  process.kill(process.pid, 'SIGKILL');
};

async function main(config: BatchCrashChildConfig): Promise<void> {
  const lake = await LocalLake.open({
    lakeDir: config.lakeDir,
    maxClockSkewMs: config.maxClockSkewMs,
    onBuildStep: (step) => {
      fs.writeSync(1, `STEP ${step.table} ${step.phase}\n`);
      if (step.table !== config.killAt.table || step.phase !== config.killAt.phase) return;
      if (config.killAt.delayMs) setTimeout(kill, config.killAt.delayMs);
      else kill();
    },
  });
  await lake.runDay(config.day);
  lake.close();
  fs.writeSync(1, 'DONE\n');
}

main(JSON.parse(process.argv[2]) as BatchCrashChildConfig).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
