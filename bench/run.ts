/**
 * `npm run bench`: runs every `bench/*.bench.ts` in turn, each in its own Node process (so one
 * benchmark's heap and JIT state do not colour the next), fails if any of them fails, and prints the
 * summary table of `bench/results.json` (which each benchmark updates with its figures).
 *
 *   npm run bench            all benchmarks
 *   npm run bench -- batch   only those whose file name contains "batch"
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readResults, RESULTS_FILE, summaryTable } from './results';

const BENCH_DIR = __dirname;
const filters = process.argv.slice(2);

const files = fs
  .readdirSync(BENCH_DIR)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();

if (files.length === 0) {
  process.stderr.write(`no benchmark matches ${filters.join(', ')}\n`);
  process.exit(1);
}

let failed = 0;
for (const file of files) {
  process.stdout.write(`\n── ${file} ${'─'.repeat(Math.max(0, 90 - file.length))}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, file)], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    failed += 1;
    process.stderr.write(`${file} failed (exit ${result.status ?? result.signal})\n`);
  }
}
const results = readResults();
if (results) {
  process.stdout.write(`\n── summary (${path.relative(process.cwd(), RESULTS_FILE)}) ${'─'.repeat(60)}\n`);
  process.stdout.write(`${summaryTable(results)}\n`);
}
process.exit(failed === 0 ? 0 : 1);
