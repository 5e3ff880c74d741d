/**
 * The fault tests' books: traffic whose every outcome is known in advance, the speed layer run
 * against the emulators under a fault, and the ledger of where every record ended up (applied to
 * the aggregates, skipped as late, quarantined, or given up on in the on-failure queue), compared
 * with the independent recomputation of test/helpers/recompute.ts.
 *
 *   const scenario = await startScenario({ endpoints, clients, stage: 'storm', chaos: {...} });
 *   const positions = await scenario.put(lines);
 *   await scenario.drain();
 *   const observed = await scenario.observe();
 *   await scenario.stop();
 */
import { TWO_SHARDS } from './speed-end-state';
import { storagePlan, windowsFromStored } from '../../core/panes';
import type { WindowSpec } from '../../core/speed-config';
import { parseStoredAggregate } from '../../lambdas/adapters/aggregate-store';
import { StreamReader } from '../../lambdas/adapters/stream-reader';
import * as net from 'node:net';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { KinesisStreamRecord } from 'aws-lambda';
import { resolveConfig, toSpeedConfig, type SluiceConfig } from '../../contract/config';
import type { AlertMessage } from '../../lambdas/adapters/alert-publisher';
import type { StreamProcessorHandler } from '../../lambdas/stream-processor/handler';
import { Chaos } from '../../local/chaos/chaos';
import { applyChaos } from '../../local/chaos/middleware';
import type { ChaosOptions } from '../../local/chaos/options';
import { mulberry32 } from '../../local/chaos/prng';
import {
  createLocalClients,
  destroyLocalClients,
  type LocalClients,
  type LocalEndpoints,
} from '../../local/endpoints';
import { EventSourceRunner } from '../../local/event-source/runner';
import type { EventSourceSettings, KinesisOnFailureRecord } from '../../local/event-source/types';
import { createLocalResources, type LocalResources } from '../../local/resources';
import { createLocalStreamProcessor } from '../../local/local-handler';
import { recentNoon } from './clock';
import { check, windowStartsOf } from './contract-oracle';
import { close, type Expected } from './recompute';
import { expectedOutputs } from './replay-check';
import { drainQueue } from './speed-end-state';

const MINUTE = 60_000;
/**
 * Processing time of every fault test (the handler's clock): noon, far from any window edge that
 * matters, of a recent day, so a DynamoDB that enforces TTL keeps what the tests write (clock.ts).
 */
export const NOW = recentNoon();
export const VALUE_RULE = { id: 'temperature-high', threshold: 28, cooldownMs: 5 * MINUTE };
export const WINDOW_RULE = { id: 'minute-spike', window: '1m', threshold: 31, cooldownMs: 2 * MINUTE };

/**
 * The test config: default windows, a per-event and a window alert rule, on the two-shard stream the
 * fault scenarios' storms and outages are sized for.
 */
export function faultConfig(stage: string, parallelizationFactor = 1): SluiceConfig {
  return resolveConfig({
    stage,
    stream: TWO_SHARDS,
    processor: { parallelizationFactor },
    alertRules: [
      {
        id: VALUE_RULE.id,
        metric: 'temperature',
        source: 'value',
        aggregate: 'value',
        op: '>',
        threshold: VALUE_RULE.threshold,
        cooldown: '5m',
        severity: 'warning',
      },
      {
        id: WINDOW_RULE.id,
        metric: 'temperature',
        source: WINDOW_RULE.window,
        aggregate: 'max',
        op: '>',
        threshold: WINDOW_RULE.threshold,
        cooldown: '2m',
        severity: 'critical',
      },
    ],
  });
}

/** The rules' and windows' settings for the checks (the stage name does not matter to them). */
const LEDGER_CONFIG = faultConfig('ledger');

export interface Line {
  readonly text: string;
  readonly partitionKey: string;
}

/**
 * Sensor traffic with out-of-order event times in the last few minutes, values with two decimals
 * (so recompute.ts sums them exactly), some over the alert thresholds, 3 % malformed
 * lines of several kinds and 2 % late events.
 */
export function faultTraffic(options: {
  readonly count: number;
  readonly sensors: number;
  readonly seed: number;
  /** Prefix of the sensor ids, to tell traffic apart. @default 'sensor' */
  readonly prefix?: string;
  /** Share of values 10 degrees hotter (over the window rule's threshold). @default 0.012 */
  readonly hotShare?: number;
  /** Number of the first event (event ids are `<prefix>-e<n>`), to continue earlier traffic. @default 0 */
  readonly firstEvent?: number;
}): Line[] {
  const random = mulberry32(options.seed);
  const prefix = options.prefix ?? 'sensor';
  const lines: Line[] = [];
  const malformed = (i: number, sensorId: string): string =>
    [
      `garbage line ${i} {`,
      JSON.stringify({ eventId: `m${i}`, metric: 'temperature', value: 1, timestamp: NOW }),
      JSON.stringify({
        eventId: `m${i}`,
        sensorId: 'bad sensor',
        metric: 'temperature',
        value: 1,
        timestamp: NOW,
      }),
      JSON.stringify({ eventId: `m${i}`, sensorId, metric: 'temperature', value: '20', timestamp: NOW }),
      JSON.stringify({
        eventId: `m${i}`,
        sensorId,
        metric: 'temperature',
        value: 20,
        timestamp: NOW + 3_600_000,
      }),
    ][i % 5];
  for (let i = 0; i < options.count; i++) {
    const roll = random();
    const sensorId = `${prefix}-${String(Math.floor(random() * options.sensors)).padStart(3, '0')}`;
    if (roll < 0.03) {
      lines.push({ text: malformed(i, sensorId), partitionKey: sensorId });
      continue;
    }
    const metric = random() < 0.8 ? 'temperature' : 'humidity';
    const value =
      Math.round((15 + random() * 13.5 + (random() < (options.hotShare ?? 0.012) ? 10 : 0)) * 100) / 100;
    const eventTime =
      roll < 0.05
        ? NOW - 2 * 24 * 60 * MINUTE - Math.floor(random() * 60 * MINUTE)
        : NOW - Math.floor(random() * 3 * MINUTE);
    const timestamp = random() < 0.5 ? new Date(eventTime).toISOString() : eventTime;
    lines.push({
      text: JSON.stringify({
        eventId: `${prefix}-e${(options.firstEvent ?? 0) + i}`,
        sensorId,
        metric,
        value,
        unit: 'C',
        timestamp,
      }),
      partitionKey: sensorId,
    });
  }
  return lines;
}

/** What the speed layer must make of `lines` (recompute.ts, independent of core/). */
export function expectedOf(lines: readonly Line[], config: SluiceConfig): Expected {
  return expectedOutputs(
    lines.map((l) => l.text),
    NOW,
    config,
  );
}

export interface Position {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

export interface Aggregate {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

export interface Observed {
  /** By `sensorId|metric|window|windowStart(ms)`. */
  readonly aggregates: Map<string, Aggregate>;
  /** Alerts recorded in an outbox and not yet published. */
  readonly pendingAlertIds: string[];
  /** Every alert delivered to the topic's queue since the last observation, duplicates included. */
  readonly deliveries: AlertMessage[];
  /** Quarantined records by `shardId/sequenceNumber` (a record written twice appears once). */
  readonly quarantine: Map<string, { readonly reason: string; readonly data: string }>;
  /** On-failure documents received since the last observation. */
  readonly onFailure: KinesisOnFailureRecord[];
}

export interface Scenario {
  readonly config: SluiceConfig;
  readonly resources: LocalResources;
  readonly chaos: Chaos;
  readonly runner: EventSourceRunner;
  /** The handler the runner invokes (clients with chaos applied). */
  readonly handler: StreamProcessorHandler;
  /** Where the `preload` records landed. */
  readonly preloaded: readonly Position[];
  put(lines: readonly Line[]): Promise<Position[]>;
  drain(timeoutMs?: number): Promise<void>;
  observe(): Promise<Observed>;
  /** Replays the records of on-failure documents through the handler, as an operator would. */
  redrive(documents: readonly KinesisOnFailureRecord[]): Promise<number>;
  stop(): Promise<void>;
}

export interface ScenarioOptions {
  readonly endpoints: LocalEndpoints;
  /** Clients for the test's own reads and writes (no chaos on them). */
  readonly clients: LocalClients;
  readonly stage: string;
  readonly chaos: ChaosOptions;
  /**
   * The event source's parallelization factor; the handler gets it from the same config, as on AWS.
   * @default 1
   */
  readonly parallelizationFactor?: number;
  /** Event source settings on top of the test defaults (batch 200, bisect, partial responses). */
  readonly runner?: Omit<EventSourceSettings, 'parallelizationFactor'>;
  /** Where the handler's SNS client connects. @default - the emulator */
  readonly snsEndpoint?: string;
  /**
   * Records put before the runner starts, so its first batches are full and the order of
   * invocations does not depend on how fast the records were put. @default - none
   */
  readonly preload?: readonly Line[];
}

/** Chaos without background faults, for scenarios that inject only their own storm or outage. */
export const CALM: ChaosOptions = {
  seed: 1,
  crashProbability: 0,
  throttleProbability: 0,
  redeliveryProbability: 0,
};

export async function startScenario(options: ScenarioOptions): Promise<Scenario> {
  const { clients } = options;
  const config = faultConfig(options.stage, options.parallelizationFactor);
  const resources = await createLocalResources(clients, config);
  const handlerClients = createLocalClients({
    ...options.endpoints,
    sns: options.snsEndpoint ?? options.endpoints.sns,
  });
  const chaos = new Chaos(options.chaos);
  applyChaos(handlerClients, chaos);
  const handler = createLocalStreamProcessor({
    clients: handlerClients,
    resources,
    // The parallelization factor (the lanes of its exactly-once marks) comes from the same config as the runner's.
    config: toSpeedConfig(config),
    now: () => NOW,
  });
  const runner = new EventSourceRunner({
    kinesis: handlerClients.kinesis,
    streamName: resources.streamName,
    handler,
    batchSize: 200,
    bisectBatchOnError: true,
    reportBatchItemFailures: true,
    retryAttempts: -1,
    retryBackoffMs: 1,
    maxRetryBackoffMs: 5,
    pollIntervalMs: 20,
    onFailure: { sqs: clients.sqs, queueUrl: resources.onFailureQueueUrl },
    chaos,
    ...options.runner,
    parallelizationFactor: config.processor.parallelizationFactor,
  });
  const preloaded = await putLines(clients.kinesis, resources.streamName, options.preload ?? []);
  await runner.start();
  return {
    config,
    resources,
    chaos,
    runner,
    handler,
    preloaded,
    put: (lines) => putLines(clients.kinesis, resources.streamName, lines),
    drain: (timeoutMs = 60_000) => runner.drain({ timeoutMs }),
    observe: () => observe(clients, resources, toSpeedConfig(config).windows),
    redrive: (documents) => redrive(clients.kinesis, resources, handler, documents),
    stop: async () => {
      await runner.stop();
      destroyLocalClients(handlerClients);
    },
  };
}

/** Puts every line as one record, in order; returns where each landed. */
export async function putLines(
  kinesis: KinesisClient,
  streamName: string,
  lines: readonly Line[],
): Promise<Position[]> {
  const positions: Position[] = [];
  for (let i = 0; i < lines.length; i += 500) {
    const result = await kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: lines
          .slice(i, i + 500)
          .map((l) => ({ Data: Buffer.from(l.text), PartitionKey: l.partitionKey })),
      }),
    );
    if (result.FailedRecordCount)
      throw new Error(`PutRecords failed for ${result.FailedRecordCount} entries`);
    for (const r of result.Records ?? [])
      positions.push({ shardId: r.ShardId as string, sequenceNumber: r.SequenceNumber as string });
  }
  return positions;
}

/** Every item of the table, all pages. */
export async function scanAll(
  clients: LocalClients,
  tableName: string,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await clients.dynamodb.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every quarantined record in the lake bucket, by `shardId/sequenceNumber`. */
export async function readQuarantine(clients: LocalClients, bucket: string): Promise<Observed['quarantine']> {
  const records: Observed['quarantine'] = new Map();
  let token: string | undefined;
  do {
    const page = await clients.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'quarantine/', ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const body = await (
        await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }))
      ).Body!.transformToString();
      for (const line of body.split('\n').filter(Boolean)) {
        const r = JSON.parse(line) as {
          reason: string;
          data: string;
          shardId: string;
          sequenceNumber: string;
        };
        records.set(`${r.shardId}/${r.sequenceNumber}`, { reason: r.reason, data: r.data });
      }
    }
    token = page.NextContinuationToken;
  } while (token);
  return records;
}

/** A window aggregate item of the table, keyed as `Observed['aggregates']` is. */
/**
 * Every configured window's aggregates from scanned items, by `sensorId|metric|window|windowStart`:
 * stored windows as written, hopping windows composed from their panes, as every reader sees them.
 */
export function aggregatesOf(
  items: readonly Record<string, AttributeValue>[],
  windows: readonly WindowSpec[],
): Map<string, Aggregate> {
  const stored = items.filter((i) => i.pk.S!.startsWith('AGG#')).map(parseStoredAggregate);
  return new Map(
    windowsFromStored(storagePlan(windows), stored).map((a) => [
      `${a.sensorId}|${a.metric}|${a.window}|${a.windowStart}`,
      { count: a.count, sum: a.sum, min: a.min, max: a.max },
    ]),
  );
}

async function observe(
  clients: LocalClients,
  resources: LocalResources,
  windows: readonly WindowSpec[],
): Promise<Observed> {
  const items = await scanAll(clients, resources.tableName);
  const aggregates = aggregatesOf(items, windows);
  const pendingAlertIds: string[] = [];
  for (const item of items) {
    if (!item.pk.S!.startsWith('AGG#')) pendingAlertIds.push(...Object.keys(item.pending?.M ?? {}));
  }
  const deliveries = (await drainQueue(clients.sqs, resources.alertsQueueUrl)).map(
    (body) => JSON.parse((JSON.parse(body) as { Message: string }).Message) as AlertMessage,
  );
  return {
    aggregates,
    pendingAlertIds,
    deliveries,
    quarantine: await readQuarantine(clients, resources.lakeBucketName),
    onFailure: (await drainQueue(clients.sqs, resources.onFailureQueueUrl)).map(
      (b) => JSON.parse(b) as KinesisOnFailureRecord,
    ),
  };
}

/**
 * Reads the records of every on-failure range from the stream and invokes the handler with them,
 * per shard in sequence order, up to 100 records an invocation: an operator's replay of the ranges.
 */
async function redrive(
  kinesis: KinesisClient,
  resources: LocalResources,
  handler: StreamProcessorHandler,
  documents: readonly KinesisOnFailureRecord[],
): Promise<number> {
  const byShard = new Map<string, KinesisStreamRecord[]>();
  for (const { KinesisBatchInfo: info } of documents) {
    const records = await readRange(kinesis, resources, info);
    if (records.length !== info.batchSize)
      throw new Error(
        `redrive: read ${records.length} records of ${info.shardId} ${info.startSequenceNumber}..${info.endSequenceNumber}, the document says ${info.batchSize}`,
      );
    byShard.set(info.shardId, [...(byShard.get(info.shardId) ?? []), ...records]);
  }
  let replayed = 0;
  for (const records of byShard.values()) {
    records.sort((a, b) => (BigInt(a.kinesis.sequenceNumber) < BigInt(b.kinesis.sequenceNumber) ? -1 : 1));
    for (let i = 0; i < records.length; i += 100) {
      const batch = records.slice(i, i + 100);
      const response = await handler({ Records: batch });
      if (response.batchItemFailures.length > 0)
        throw new Error(`redrive: ${response.batchItemFailures.length} records failed again`);
      replayed += batch.length;
    }
  }
  return replayed;
}

/** The records of one on-failure range, as Lambda would deliver them (the speed repair's reader). */
function readRange(
  kinesis: KinesisClient,
  resources: LocalResources,
  info: KinesisOnFailureRecord['KinesisBatchInfo'],
): Promise<KinesisStreamRecord[]> {
  return new StreamReader({
    client: kinesis,
    streamName: resources.streamName,
    streamArn: resources.streamArn,
  }).readRange(info.shardId, info.startSequenceNumber, info.endSequenceNumber);
}

/** Where a record ended up. */
export type Place = 'applied' | 'late' | 'quarantined' | 'on-failure';

/** Whether the record at `p` is in the on-failure range `info`. */
export function inRange(p: Position, info: KinesisOnFailureRecord['KinesisBatchInfo']): boolean {
  const n = BigInt(p.sequenceNumber);
  return (
    p.shardId === info.shardId && n >= BigInt(info.startSequenceNumber) && n <= BigInt(info.endSequenceNumber)
  );
}

/**
 * Every line's place, from the contract's verdict (contract-oracle.ts) and what the run left: a
 * quarantined line must be in the quarantine and a valid one applied, unless its record is in an
 * on-failure range (given up on; then only the range vouches for it). A late line is skipped by
 * design. Returns the places and the lines no place accounts for.
 */
export function ledger(
  lines: readonly Line[],
  positions: readonly Position[],
  observed: Pick<Observed, 'quarantine'>,
  onFailure: readonly KinesisOnFailureRecord[],
): { places: Record<Place, number>; unaccounted: string[] } {
  const places: Record<Place, number> = { applied: 0, late: 0, quarantined: 0, 'on-failure': 0 };
  const unaccounted: string[] = [];
  lines.forEach((line, i) => {
    const p = positions[i];
    const verdict = expectedOf([line], LEDGER_CONFIG);
    const given = onFailure.some((f) => inRange(p, f.KinesisBatchInfo));
    const quarantined = observed.quarantine.get(`${p.shardId}/${p.sequenceNumber}`);
    if (verdict.quarantine.length > 0) {
      if (quarantined?.reason === verdict.quarantine[0].reason && quarantined.data === line.text)
        places.quarantined++;
      else if (given) places['on-failure']++;
      else
        unaccounted.push(
          `${line.text} (${p.sequenceNumber}): not quarantined as ${verdict.quarantine[0].reason}`,
        );
    } else if (verdict.summary.late > 0) {
      places[given ? 'on-failure' : 'late']++;
    } else if (given) {
      places['on-failure']++;
    } else {
      places.applied++; // checked as a whole by aggregateProblems
    }
  });
  return { places, unaccounted };
}

/** The lines whose records are not in any on-failure range. */
export function linesKept(
  lines: readonly Line[],
  positions: readonly Position[],
  onFailure: readonly KinesisOnFailureRecord[],
): Line[] {
  return lines.filter((_, i) => !onFailure.some((f) => inRange(positions[i], f.KinesisBatchInfo)));
}

const keyOf = (a: Record<string, unknown>) =>
  `${a.sensorId}|${a.metric}|${a.window}|${Date.parse(a.windowStart as string)}`;

/**
 * What a redrive of the on-failure ranges can restore, by the documented limit of exactly-once
 * high-water marks (docs/speed-repair.md): a window item takes a given-up record only if no record of
 * the same shard with a higher sequence number was applied to it before. Assumes a
 * parallelization factor of 1 (marks per shard) and given-up records never partly applied (a
 * storm without lost responses). Returns the expected aggregates and how many windows the redrive
 * restores in full or leaves short.
 */
export function redriveExpectation(
  lines: readonly Line[],
  positions: readonly Position[],
  onFailure: readonly KinesisOnFailureRecord[],
): { aggregates: Map<string, Aggregate>; restored: number; short: number } {
  const { windows, maxClockSkewMs, latenessMs } = toSpeedConfig(LEDGER_CONFIG);
  interface Member {
    readonly cents: number;
    readonly value: number;
    readonly shardId: string;
    readonly sequence: bigint;
    readonly given: boolean;
  }
  const items = new Map<string, Member[]>();
  lines.forEach((line, i) => {
    const verdict = check(line.text, NOW, maxClockSkewMs);
    if (!verdict.ok || verdict.event.eventTime < NOW - latenessMs) return;
    const { sensorId, metric, value, eventTime } = verdict.event;
    const member: Member = {
      cents: Math.round(value * 100),
      value,
      shardId: positions[i].shardId,
      sequence: BigInt(positions[i].sequenceNumber),
      given: onFailure.some((f) => inRange(positions[i], f.KinesisBatchInfo)),
    };
    for (const w of windows) {
      for (const start of windowStartsOf(eventTime, w)) {
        const key = `${sensorId}|${metric}|${w.name}|${start}`;
        items.set(key, [...(items.get(key) ?? []), member]);
      }
    }
  });
  const aggregates = new Map<string, Aggregate>();
  let restored = 0;
  let short = 0;
  for (const [key, members] of items) {
    const mark = new Map<string, bigint>();
    for (const m of members)
      if (!m.given && m.sequence > (mark.get(m.shardId) ?? -1n)) mark.set(m.shardId, m.sequence);
    const applied = members.filter((m) => !m.given || m.sequence > (mark.get(m.shardId) ?? -1n));
    const given = members.filter((m) => m.given).length;
    if (given > 0 && applied.length === members.length) restored++;
    if (applied.length < members.length) short++;
    if (applied.length === 0) continue;
    aggregates.set(key, {
      count: applied.length,
      sum: applied.reduce((n, m) => n + m.cents, 0) / 100,
      min: Math.min(...applied.map((m) => m.value)),
      max: Math.max(...applied.map((m) => m.value)),
    });
  }
  return { aggregates, restored, short };
}

/** Observed aggregates that differ from `expected` (sums to 1e-9 relative); the first few. */
export function aggregateMapProblems(
  observed: Pick<Observed, 'aggregates'>,
  expected: ReadonlyMap<string, Aggregate>,
): string[] {
  const problems: string[] = [];
  for (const [key, want] of expected) {
    const got = observed.aggregates.get(key);
    if (
      !got ||
      got.count !== want.count ||
      got.min !== want.min ||
      got.max !== want.max ||
      !close(got.sum, want.sum)
    )
      problems.push(`${key}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  for (const key of observed.aggregates.keys()) if (!expected.has(key)) problems.push(`${key}: not expected`);
  return problems.slice(0, 5);
}

/** Aggregates that differ from the recomputation (sums to 1e-9 relative); the first few. */
export function aggregateProblems(observed: Pick<Observed, 'aggregates'>, expected: Expected): string[] {
  // recompute.ts's aggregate rows carry count, sum, min and max as numbers.
  const byKey = new Map(expected.aggregates.map((a) => [keyOf(a), a as unknown as Aggregate]));
  return aggregateMapProblems(observed, byKey);
}

/** Quarantine compared with the recomputation, as sorted `reason data` lines. */
export function quarantineLines(quarantine: Observed['quarantine']): string[] {
  return [...quarantine.values()].map((q) => `${q.reason} ${q.data}`).sort();
}

export function expectedQuarantineLines(expected: Expected): string[] {
  return expected.quarantine.map((q) => `${q.reason} ${q.data}`).sort();
}

/** Distinct alerts by id; throws if two deliveries of one id differ (a duplicate must be a copy). */
export function distinctAlerts(deliveries: readonly AlertMessage[]): Map<string, AlertMessage> {
  const alerts = new Map<string, AlertMessage>();
  for (const alert of deliveries) {
    const first = alerts.get(alert.alertId);
    if (first && JSON.stringify(first) !== JSON.stringify(alert))
      throw new Error(
        `two different alerts share alertId ${alert.alertId}: ${JSON.stringify(first)} and ${JSON.stringify(alert)}`,
      );
    alerts.set(alert.alertId, alert);
  }
  return alerts;
}

/** Per-event alerts: exactly the recomputation's, by alertId. */
export function valueAlertProblems(alerts: ReadonlyMap<string, AlertMessage>, expected: Expected): string[] {
  const got = [...alerts.values()]
    .filter((a) => a.ruleId === VALUE_RULE.id)
    .map((a) => a.alertId)
    .sort();
  const want = expected.alerts.map((a) => a.alertId as string).sort();
  const missing = want.filter((id) => !got.includes(id));
  const extra = got.filter((id) => !want.includes(id));
  return [...missing.map((id) => `missing ${id}`), ...extra.map((id) => `unexpected ${id}`)].slice(0, 5);
}

/**
 * The per-event rule's guarantees, for when which breach of a cluster alerts depends on the order
 * records were applied in (a redrive applies old records last): a sensor's alerts are a cooldown
 * apart, each is a breaching event, and every breaching event lies within a cooldown of one.
 */
export function valueCooldownProblems(
  alerts: ReadonlyMap<string, AlertMessage>,
  lines: readonly Line[],
): string[] {
  const { maxClockSkewMs, latenessMs } = toSpeedConfig(LEDGER_CONFIG);
  const breaches: Array<{ sensorId: string; time: number }> = [];
  for (const line of lines) {
    const verdict = check(line.text, NOW, maxClockSkewMs);
    if (!verdict.ok || verdict.event.eventTime < NOW - latenessMs) continue; // late events are skipped
    if (verdict.event.metric === 'temperature' && verdict.event.value > VALUE_RULE.threshold)
      breaches.push({ sensorId: verdict.event.sensorId, time: verdict.event.eventTime });
  }
  return cooldownProblems(alerts, VALUE_RULE, breaches);
}

/**
 * The cooldown guarantees of one rule: a sensor's alerts are a cooldown apart, each is at a
 * breach's time, and every breach lies within a cooldown of one. The first five problems.
 */
function cooldownProblems(
  alerts: ReadonlyMap<string, AlertMessage>,
  rule: { readonly id: string; readonly cooldownMs: number },
  breaches: ReadonlyArray<{ readonly sensorId: string; readonly time: number }>,
): string[] {
  const raised = [...alerts.values()].filter((a) => a.ruleId === rule.id);
  const problems: string[] = [];
  for (const sensorId of new Set([...breaches.map((b) => b.sensorId), ...raised.map((a) => a.sensorId)])) {
    const times = raised
      .filter((a) => a.sensorId === sensorId)
      .map((a) => Date.parse(a.eventTime))
      .sort((x, y) => x - y);
    times.forEach((t, i) => {
      if (i > 0 && t - times[i - 1] < rule.cooldownMs)
        problems.push(`${sensorId}: alerts ${times[i - 1]} and ${t} too close`);
      if (!breaches.some((b) => b.sensorId === sensorId && b.time === t))
        problems.push(`${sensorId}: alert ${t} without a breach`);
    });
    for (const b of breaches.filter((x) => x.sensorId === sensorId))
      if (!times.some((t) => Math.abs(t - b.time) < rule.cooldownMs))
        problems.push(`${sensorId}: breach ${b.time} not covered`);
  }
  return problems.slice(0, 5);
}

/**
 * The window rule's guarantees (which of two nearby breaching windows alerts depends on batch
 * boundaries): a sensor's alerts are a cooldown apart, each is a breaching window, and every
 * breaching window lies within a cooldown of one.
 */
export function windowAlertProblems(alerts: ReadonlyMap<string, AlertMessage>, expected: Expected): string[] {
  const breaching = expected.aggregates
    .filter(
      (a) =>
        a.metric === 'temperature' &&
        a.window === WINDOW_RULE.window &&
        (a.max as number) > WINDOW_RULE.threshold,
    )
    .map((a) => ({ sensorId: a.sensorId as string, time: Date.parse(a.windowStart as string) }));
  return cooldownProblems(alerts, WINDOW_RULE, breaching);
}

/**
 * A TCP proxy in front of an endpoint that can be cut (every connection, open or new, is reset)
 * and restored: an outage on the wire, which the SDK sees as it would see a dead service.
 */
export interface CuttableProxy {
  readonly url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCuttableProxy(target: string): Promise<CuttableProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut: () => {
      cut = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore: () => {
      cut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
