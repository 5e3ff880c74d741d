/**
 * Prices what `bench/cost-simulation.ts` measured: per-event counts scaled to a 30-day month at the
 * given rate, at the list prices of `bench/cost-model.ts` (`PRICES`, dated, with their sources).
 * What the handler does not exercise (stream-hours, storage, S3, Athena, CloudWatch, KMS) comes from
 * the formula model, marked as such.
 */
import type { CostLine, Prices } from './cost-model';

const SECONDS_PER_MONTH = 30 * 86_400;
const GB = 1024 ** 3;

/** One function's invocations (already scaled to the whole stream). */
export interface MeasuredFunction {
  readonly name: string;
  readonly invocationsPerSecond: number;
  /** Billed Lambda milliseconds per invocation (each rounded up to 1 ms). */
  readonly billedMsPerInvocation: number;
  readonly memoryMiB: number;
}

/** How the aggregates table is billed (`aggregatesTable` of the config). */
export type MeasuredTableBilling =
  | { readonly mode: 'on-demand' }
  | {
      readonly mode: 'provisioned';
      /** Auto scaling keeps consumed ÷ provisioned at this; capacity is priced at average ÷ target. */
      readonly targetUtilization: number;
      readonly minWriteCapacity: number;
      readonly minReadCapacity: number;
    };

export type MeasuredStream =
  { readonly mode: 'on-demand' } | { readonly mode: 'provisioned'; readonly shards: number };

/** Per-event and per-invocation figures a bill is priced from (already scaled to the whole stream). */
export interface MeasuredRates {
  readonly eventsPerSecond: number;
  readonly functions: readonly MeasuredFunction[];
  readonly stream: MeasuredStream;
  readonly table: MeasuredTableBilling;
  /** On-demand: bytes billed per record, at least 1 KB. */
  readonly kinesisBilledBytesPerEvent: number;
  /** Provisioned: PUT payload units (25 KB) per record. */
  readonly putPayloadUnitsPerEvent: number;
  /** Consumers reading the whole stream: the stream processors and Firehose. */
  readonly kinesisReaders: number;
  readonly firehoseBilledBytesPerEvent: number;
  readonly writeUnitsPerEvent: number;
  readonly readUnitsPerEvent: number;
  readonly snsPublishesPerEvent: number;
}

export interface MeasuredBill {
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  /** USD by service (measured and modelled lines together). */
  readonly byService: Readonly<Record<string, number>>;
}

const money = (n: number): number => Math.round(n * 100) / 100;
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * The month's bill: measured lines first, then `modelled` (the formula model's lines for what the
 * handler does not exercise), whose usage is marked "(model)".
 */
export function measuredBill(
  rates: MeasuredRates,
  modelled: readonly CostLine[],
  prices: Prices,
): MeasuredBill {
  const events = rates.eventsPerSecond * SECONDS_PER_MONTH;
  const lines: CostLine[] = [];
  const add = (service: string, usage: string, usd: number) =>
    lines.push({ service, usage, monthlyUsd: money(usd) });

  if (rates.stream.mode === 'on-demand') {
    const kinesisGb = (events * rates.kinesisBilledBytesPerEvent) / GB;
    add('Kinesis (on-demand)', 'stream-hours', (SECONDS_PER_MONTH / 3600) * prices.kinesisOnDemandStreamHour);
    add('Kinesis (on-demand)', `${fmt(kinesisGb)} GB in`, kinesisGb * prices.kinesisOnDemandIngestGb);
    add(
      'Kinesis (on-demand)',
      `${rates.kinesisReaders} × ${fmt(kinesisGb)} GB out`,
      rates.kinesisReaders * kinesisGb * prices.kinesisOnDemandRetrievalGb,
    );
  } else {
    const shards = rates.stream.shards;
    add(
      'Kinesis (provisioned)',
      `${shards} shards`,
      shards * (SECONDS_PER_MONTH / 3600) * prices.kinesisShardHour,
    );
    const units = events * rates.putPayloadUnitsPerEvent;
    add(
      'Kinesis (provisioned)',
      `${fmt(units / 1e6)} M PUT payload units`,
      (units / 1e6) * prices.kinesisPutPayloadUnitsMillion,
    );
  }
  for (const fn of rates.functions) {
    const invocations = fn.invocationsPerSecond * SECONDS_PER_MONTH;
    add(
      'Lambda',
      `${fn.name}: ${fmt(invocations / 1e6, 1)} M invocations`,
      (invocations / 1e6) * prices.lambdaRequestsMillion,
    );
    const gbSeconds = (invocations * fn.billedMsPerInvocation * (fn.memoryMiB / 1024)) / 1000;
    add(
      'Lambda',
      `${fn.name}: ${fmt(gbSeconds / 1e6, 2)} M GB-s (≈${fmt(fn.billedMsPerInvocation)} ms each at ${fn.memoryMiB} MB)`,
      gbSeconds * prices.lambdaArmGbSecond,
    );
  }
  if (rates.table.mode === 'on-demand') {
    const wru = events * rates.writeUnitsPerEvent;
    add(
      'DynamoDB',
      `${fmt(wru / 1e9, 2)} G write request units (${fmt(rates.writeUnitsPerEvent, 2)} per event)`,
      (wru / 1e6) * prices.dynamoWriteRequestUnitsMillion,
    );
    const rru = events * rates.readUnitsPerEvent;
    add(
      'DynamoDB',
      `${fmt(rru / 1e9, 2)} G read request units (${fmt(rates.readUnitsPerEvent, 2)} per event)`,
      (rru / 1e6) * prices.dynamoReadRequestUnitsMillion,
    );
  } else {
    const { targetUtilization, minWriteCapacity, minReadCapacity } = rates.table;
    // Auto scaling keeps consumed ÷ provisioned at the target: capacity = average units/s ÷ target.
    const capacity = (kind: string, unitsPerEvent: number, minimum: number, unitHour: number) => {
      const units = Math.max(minimum, Math.ceil((rates.eventsPerSecond * unitsPerEvent) / targetUtilization));
      add(
        'DynamoDB',
        `${fmt(units)} ${kind} capacity units (${fmt(unitsPerEvent, 2)} per event at ${fmt(targetUtilization * 100)} %)`,
        units * (SECONDS_PER_MONTH / 3600) * unitHour,
      );
    };
    capacity('write', rates.writeUnitsPerEvent, minWriteCapacity, prices.dynamoWriteCapacityUnitHour);
    capacity('read', rates.readUnitsPerEvent, minReadCapacity, prices.dynamoReadCapacityUnitHour);
  }
  const firehoseGb = (events * rates.firehoseBilledBytesPerEvent) / GB;
  add('Firehose', `${fmt(firehoseGb)} GB billed`, firehoseGb * prices.firehoseIngestGb);
  const publishes = events * rates.snsPublishesPerEvent;
  add('SNS', `${fmt(publishes / 1e6, 2)} M publishes`, (publishes / 1e6) * prices.snsPublishesMillion);
  for (const line of modelled) lines.push({ ...line, usage: `${line.usage} (model)` });

  const byService: Record<string, number> = {};
  for (const line of lines) {
    const service = line.service.replace(/ \(.*\)$/, '');
    byService[service] = money((byService[service] ?? 0) + line.monthlyUsd);
  }
  return { lines, totalUsd: money(lines.reduce((sum, l) => sum + l.monthlyUsd, 0)), byService };
}
