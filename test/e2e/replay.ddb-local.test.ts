/**
 * The replay contract against DynamoDB Local, AWS's own emulator, run as its users run Sluice:
 * `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:PORT sluice local --events FILE --once --out DIR
 * --chaos SEED`. Sluice starts no dynalite, creates its table in DynamoDB Local, and the outputs must
 * equal the independent recomputation (test/helpers/recompute.ts), under the runner's fault injection:
 * for ordinary traffic, and for an alert storm (hundreds of alerts of one sensor and rule in one
 * batch), which DynamoDB's 4 KB expression limit makes a different case from dynalite's.
 *
 * Event times are within the last two hours: DynamoDB Local enforces TTL (dynalite does not), and
 * aggregates of windows more than `aggregateTtl` (7 days) old would be deleted as they are written.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { resolveConfig } from '../../contract/config';
import { generateEventLines } from '../../local/demo-producer';
import { runCli, runReplay, type CliResult } from '../helpers/cli';
import { javaMissing, startDynamoDbLocal, type DynamoDbLocal } from '../helpers/dynamodb-local';
import type { Expected } from '../helpers/recompute';
import {
  contractSummary,
  crossedMidnight,
  expectedOutputs,
  finalCounters,
  readOutputs,
  rowMismatches,
  withoutArrival,
  type ReplayOutputs,
} from '../helpers/replay-check';

const CHAOS_SEED = 11;
/** The credentials and region of every request to DynamoDB Local, which keeps one database per pair. */
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'sluiceparity',
  AWS_SECRET_ACCESS_KEY: 'sluiceparity',
  AWS_REGION: 'us-east-1',
};

/** One replay: its events and its config (a stage of its own, so a table of its own). */
interface Replay {
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly lines: readonly string[];
}

/** What a replay did. */
interface Run {
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly result: CliResult;
  readonly outputs?: ReplayOutputs;
}

/** 1,000 events of 12 sensors over 20 minutes, out of order, with anomalies, malformed, late and duplicate records. */
function trafficLines(nowMs: number): string[] {
  return generateEventLines({
    count: 1_000,
    nowMs,
    spanMs: 20 * 60_000,
    disorderMs: 90_000,
    seed: 20_261_203,
    sensors: 12,
    anomalyRate: 0.01,
    invalidRate: 0.02,
    lateRate: 0.02,
    duplicateRate: 0.01,
    idPrefix: 'ddblocal',
  });
}

const STORM_READINGS = 400;
const STORM_RULE = {
  id: 'temperature-storm',
  metric: 'temperature',
  source: 'value',
  aggregate: 'value',
  op: '>',
  threshold: 28,
  cooldown: '10s',
  severity: 'critical',
};

/**
 * A device uploading its buffered readings: 400 breaching readings of one sensor, 11 s apart (more
 * than the rule's 10 s cooldown, so each one is an alert), in one PutRecords and, with a batch size
 * of 1,000, in one batch: 400 pending alerts in one (sensor, rule) group.
 */
function stormLines(nowMs: number): string[] {
  const first = nowMs - 60_000 - STORM_READINGS * 11_000;
  return Array.from({ length: STORM_READINGS }, (_, i) =>
    JSON.stringify({
      eventId: `storm-${i}`,
      sensorId: 'sensor-buffered',
      metric: 'temperature',
      value: 30 + (i % 7) / 4,
      unit: 'C',
      timestamp: new Date(first + i * 11_000).toISOString(),
    }),
  );
}

const JAVA_MISSING = javaMissing();

if (JAVA_MISSING) {
  describe('[DynamoDB Local] replay with AWS_ENDPOINT_URL_DYNAMODB', () => {
    console.warn(`[DynamoDB Local] replay with AWS_ENDPOINT_URL_DYNAMODB: SKIPPED: ${JAVA_MISSING}`);
    test.skip(`SKIPPED: ${JAVA_MISSING}`, () => undefined);
  });
} else {
  describe('[DynamoDB Local] replay with AWS_ENDPOINT_URL_DYNAMODB', () => {
    let work: string;
    let ddb: DynamoDbLocal;
    const now = Date.now();
    const traffic: Replay = { name: 'traffic', config: { stage: 'ddbtraffic' }, lines: trafficLines(now) };
    const storm: Replay = {
      name: 'storm',
      config: { stage: 'ddbstorm', alertRules: [STORM_RULE], processor: { batchSize: 1_000 } },
      lines: stormLines(now),
    };
    /** Each replay's run, or why it did not finish (then every test of that replay fails with it). */
    const runs = new Map<Replay, Run | Error>();

    const out = (replay: Replay): string => path.join(work, replay.name);
    const runOf = (replay: Replay): Run => {
      const run = runs.get(replay);
      if (run instanceof Error || run === undefined) throw run ?? new Error(`${replay.name} did not run`);
      return run;
    };
    const expectedOf = (replay: Replay): Expected =>
      expectedOutputs(replay.lines, runOf(replay).startedAt, resolveConfig(replay.config));

    async function run(replay: Replay): Promise<void> {
      const events = path.join(work, `${replay.name}.ndjson`);
      const config = path.join(work, `${replay.name}.config.json`);
      fs.writeFileSync(events, `${replay.lines.join('\n')}\n`);
      fs.writeFileSync(config, JSON.stringify(replay.config));
      const startedAt = Date.now();
      try {
        const result = await runReplay(events, out(replay), ['-c', config, '--chaos', String(CHAOS_SEED)], {
          env: { ...AWS_ENV, AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint },
        });
        runs.set(replay, {
          startedAt,
          finishedAt: Date.now(),
          result,
          outputs: result.code === 0 ? readOutputs(out(replay)) : undefined,
        });
      } catch (error) {
        runs.set(replay, error as Error);
      }
    }

    beforeAll(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-ddblocal-'));
      ddb = await startDynamoDbLocal();
      await Promise.all([run(traffic), run(storm)]);
    }, 600_000);

    afterAll(async () => {
      await ddb?.stop();
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test('creates each replay’s table in DynamoDB Local and starts no dynalite', async () => {
      const client = new DynamoDBClient({
        endpoint: ddb.endpoint,
        region: AWS_ENV.AWS_REGION,
        credentials: {
          accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID,
          secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY,
        },
      });
      try {
        const { TableNames } = await client.send(new ListTablesCommand({}));

        expect(TableNames).toEqual(
          expect.arrayContaining(['sluice-ddbtraffic-speed', 'sluice-ddbstorm-speed']),
        );
      } finally {
        client.destroy();
      }
      const emulatorData = path.join(`${out(traffic)}-state`, 'emulators');
      expect(fs.existsSync(path.join(emulatorData, 'kinesis'))).toBe(true);
      expect(fs.existsSync(path.join(emulatorData, 'dynamodb'))).toBe(false);
    });

    describe.each([traffic, storm])('$name under --chaos', (replay) => {
      test('exits 0 with nothing on stderr, and nothing went to the on-failure queue', () => {
        const { result } = runOf(replay);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(finalCounters(out(replay)).runner.recordsSentToOnFailure).toBe(0);
      });

      test('summary counts equal the recomputation, and every record landed raw', () => {
        expect(contractSummary(runOf(replay).outputs?.summary ?? {})).toEqual({
          ...expectedOf(replay).summary,
          ingested: replay.lines.length,
          rawLanded: replay.lines.length,
        });
      });

      test('aggregates read back from DynamoDB Local equal the recomputation', () => {
        const { outputs } = runOf(replay);
        expect(outputs?.aggregates.length).toBeGreaterThan(0);
        expect(outputs?.aggregates).toEqual(expectedOf(replay).aggregates);
      });

      test('alerts equal the recomputation', () => {
        const { outputs } = runOf(replay);
        expect(outputs?.alerts.length).toBeGreaterThan(0);
        expect(outputs?.alerts).toEqual(expectedOf(replay).alerts);
      });

      test('quarantine and the batch tables equal the recomputation', () => {
        const { outputs, startedAt, finishedAt } = runOf(replay);
        const expected = expectedOf(replay);
        expect(outputs?.quarantine).toEqual(expected.quarantine);
        if (crossedMidnight(startedAt, finishedAt)) return;
        const tables = outputs?.tables ?? {};
        expect(withoutArrival(tables.events ?? [])).toEqual(expected.tables.events);
        expect(rowMismatches(tables.sensor_stats_hourly ?? [], expected.tables.sensor_stats_hourly)).toEqual(
          [],
        );
        expect(rowMismatches(tables.sensor_stats_daily ?? [], expected.tables.sensor_stats_daily)).toEqual(
          [],
        );
      });
    });

    test('the storm is one group of several hundred alerts', () => {
      const alerts = runOf(storm).outputs?.alerts ?? [];
      expect(alerts).toHaveLength(STORM_READINGS);
      expect(new Set(alerts.map((a) => `${String(a.sensorId)}/${String(a.ruleId)}`)).size).toBe(1);
    });

    test('--chaos injected faults that the runner retried', () => {
      const { runner, chaos } = finalCounters(out(traffic));
      expect(chaos?.faultyInvocations).toBeGreaterThan(0);
      expect(runner.retries + runner.redeliveries).toBeGreaterThan(0);
    });
  });
}

describe('external endpoint variables', () => {
  test('a bad AWS_ENDPOINT_URL_DYNAMODB is a one-line error naming it, before anything starts', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-endpoint-'));
    try {
      const events = path.join(work, 'events.ndjson');
      fs.writeFileSync(events, '{}\n');

      const result = await runCli(
        [
          'local',
          '--events',
          events,
          '--once',
          '--out',
          path.join(work, 'out'),
          '--state',
          path.join(work, 'state'),
        ],
        { env: { AWS_ENDPOINT_URL_DYNAMODB: 'localhost:8000' }, timeoutMs: 30_000 },
      );

      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'sluice: AWS_ENDPOINT_URL_DYNAMODB: got "localhost:8000"; must be an http:// or https:// URL such as http://127.0.0.1:8000\n',
      );
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
