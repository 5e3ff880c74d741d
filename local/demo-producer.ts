/**
 * Realistic sensor traffic for the demo, `sluice produce` and test files: a fleet of sensors reporting
 * temperature and humidity that follow a daily cycle plus a short "HVAC" cycle and noise, with
 * occasional anomalies (spikes that trip the default alert rule), malformed records, late events and
 * producer-side duplicates, in proportions the caller chooses.
 *
 * Seeded: the same options and the same sequence of `next(now)` calls give the same records.
 */
import { mulberry32 } from './chaos/prng';

export type TrafficKind = 'normal' | 'anomaly' | 'malformed' | 'late' | 'duplicate';

export interface TrafficOptions {
  /** Seed of every random choice. */
  readonly seed: number;
  /** Sensors `sensor-001` … (1–100000). @default 20 */
  readonly sensors?: number;
  /** Share of events that are anomalous spikes. @default 0.002 */
  readonly anomalyRate?: number;
  /** Share of records that break the event contract. @default 0.01 */
  readonly invalidRate?: number;
  /** Share of events older than `latenessMs` (the speed layer skips them; the batch layer keeps them). @default 0.005 */
  readonly lateRate?: number;
  /** Share of records that repeat an earlier on-time event (same eventId), as a retrying producer would. @default 0 */
  readonly duplicateRate?: number;
  /** The speed layer's lateness; late events are this much plus 10–120 minutes old. @default 24h */
  readonly latenessMs?: number;
  /** Event times lag `now` by up to this much, at random, so events arrive out of order. @default 2000 */
  readonly disorderMs?: number;
  /** Prefix of event ids; give each run its own so ids never repeat across runs. @default 'demo' */
  readonly idPrefix?: string;
}

export interface GeneratedRecord {
  /** The record as sent: a JSON event, or malformed bytes. */
  readonly data: Buffer;
  /** The sensor id, or a fixed key for records that have none. */
  readonly partitionKey: string;
  readonly kind: TrafficKind;
  readonly sensorId: string;
}

interface SensorProfile {
  readonly id: string;
  readonly site: string;
  readonly baseTemperature: number;
  readonly baseHumidity: number;
  readonly phase: number;
}

const SITES = ['plant-north', 'plant-south', 'warehouse', 'lab'];
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Validated options; every rate is a probability. */
function resolve(options: TrafficOptions): Required<TrafficOptions> {
  const resolved: Required<TrafficOptions> = {
    sensors: 20,
    anomalyRate: 0.002,
    invalidRate: 0.01,
    lateRate: 0.005,
    duplicateRate: 0,
    latenessMs: DAY_MS,
    disorderMs: 2_000,
    idPrefix: 'demo',
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    seed: options.seed,
  };
  if (!Number.isInteger(resolved.sensors) || resolved.sensors < 1 || resolved.sensors > 100_000) {
    throw new RangeError(`sensors: got ${resolved.sensors}; must be an integer between 1 and 100000`);
  }
  for (const key of ['anomalyRate', 'invalidRate', 'lateRate', 'duplicateRate'] as const) {
    if (!(resolved[key] >= 0 && resolved[key] <= 1)) {
      throw new RangeError(`${key}: got ${resolved[key]}; must be between 0 and 1`);
    }
  }
  if (resolved.invalidRate + resolved.lateRate + resolved.duplicateRate > 1) {
    throw new RangeError('invalidRate + lateRate + duplicateRate must not exceed 1');
  }
  return resolved;
}

export function sensorName(index: number): string {
  return `sensor-${String(index + 1).padStart(3, '0')}`;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export class TrafficGenerator {
  private readonly options: Required<TrafficOptions>;
  private readonly random: () => number;
  private readonly profiles: SensorProfile[];
  private counter = 0;
  private spare: number | undefined;
  /** Recent valid, on-time events, for duplicates. */
  private readonly recent: Array<{ data: Buffer; sensorId: string }> = [];

  constructor(options: TrafficOptions) {
    this.options = resolve(options);
    this.random = mulberry32(this.options.seed);
    this.profiles = Array.from({ length: this.options.sensors }, (_, i) => ({
      id: sensorName(i),
      site: SITES[i % SITES.length],
      baseTemperature: 18 + this.random() * 4,
      baseHumidity: 40 + this.random() * 20,
      phase: this.random() * 2 * Math.PI,
    }));
  }

  /** Sensor ids of the fleet, in order. */
  get sensorIds(): string[] {
    return this.profiles.map((p) => p.id);
  }

  /** The next record, produced at `nowMs` (event times are at or just before it). */
  next(nowMs: number): GeneratedRecord {
    const { invalidRate, lateRate, duplicateRate, anomalyRate } = this.options;
    const pick = this.random();
    if (pick < invalidRate) return this.malformed(nowMs);
    if (pick < invalidRate + duplicateRate && this.recent.length > 0) {
      const original = this.recent[Math.floor(this.random() * this.recent.length)];
      return {
        data: original.data,
        partitionKey: original.sensorId,
        kind: 'duplicate',
        sensorId: original.sensorId,
      };
    }
    const profile = this.profiles[Math.floor(this.random() * this.profiles.length)];
    const late = pick >= 1 - lateRate;
    const anomaly = !late && this.random() < anomalyRate;
    const eventTime = late
      ? nowMs - this.options.latenessMs - Math.floor((10 + this.random() * 110) * 60_000)
      : nowMs - Math.floor(this.random() * this.options.disorderMs);
    const metric = this.random() < 0.6 ? 'temperature' : 'humidity';
    const value = anomaly ? this.anomalousValue(metric) : this.value(profile, metric, eventTime);
    const event = {
      eventId: `${this.options.idPrefix}-${(this.counter++).toString(36)}`,
      sensorId: profile.id,
      metric,
      value,
      unit: metric === 'temperature' ? 'C' : '%',
      timestamp: new Date(eventTime).toISOString(),
      attributes: { site: profile.site, firmware: '2.4.1' },
    };
    const data = Buffer.from(JSON.stringify(event));
    // Only on-time events are repeated, so every duplicate is valid for the speed layer and the
    // kinds split records by what the speed layer does with them (a repeated late event is late).
    if (duplicateRate > 0 && !late) {
      this.recent.push({ data, sensorId: profile.id });
      if (this.recent.length > 200) this.recent.shift();
    }
    return {
      data,
      partitionKey: profile.id,
      kind: late ? 'late' : anomaly ? 'anomaly' : 'normal',
      sensorId: profile.id,
    };
  }

  /** A normal reading: daily cycle (warmest mid-afternoon UTC), a 10-minute HVAC cycle, noise. */
  private value(profile: SensorProfile, metric: string, eventTime: number): number {
    const day = Math.sin((2 * Math.PI * ((eventTime % DAY_MS) / HOUR_MS - 9)) / 24);
    const hvac = Math.sin((2 * Math.PI * eventTime) / 600_000 + profile.phase);
    if (metric === 'temperature') {
      return round2(profile.baseTemperature + 2.5 * day + 0.8 * hvac + 0.3 * this.gaussian());
    }
    return round2(
      Math.min(100, Math.max(0, profile.baseHumidity - 8 * day - 2 * hvac + 1.2 * this.gaussian())),
    );
  }

  private anomalousValue(metric: string): number {
    return metric === 'temperature' ? round2(30 + this.random() * 12) : round2(5 + this.random() * 10);
  }

  private malformed(nowMs: number): GeneratedRecord {
    const profile = this.profiles[Math.floor(this.random() * this.profiles.length)];
    const id = `${this.options.idPrefix}-${(this.counter++).toString(36)}`;
    const base = {
      eventId: id,
      sensorId: profile.id,
      metric: 'temperature',
      value: 21.5,
      timestamp: new Date(nowMs).toISOString(),
    };
    const variants: Array<() => string> = [
      () => JSON.stringify(base).slice(0, 40 + Math.floor(this.random() * 20)),
      () => JSON.stringify({ ...base, value: undefined }),
      () => JSON.stringify({ ...base, value: 'hot' }),
      () => JSON.stringify({ ...base, sensorId: `${profile.id} #broken` }),
      () => JSON.stringify({ ...base, timestamp: new Date(nowMs + 2 * HOUR_MS).toISOString() }),
      () => JSON.stringify({ ...base, timestamp: 'yesterday' }),
      () => '[1,2,3]',
    ];
    const text = variants[Math.floor(this.random() * variants.length)]();
    return { data: Buffer.from(text), partitionKey: profile.id, kind: 'malformed', sensorId: profile.id };
  }

  /** A standard normal deviate (Box–Muller). */
  private gaussian(): number {
    if (this.spare !== undefined) {
      const spare = this.spare;
      this.spare = undefined;
      return spare;
    }
    const u = Math.max(this.random(), Number.MIN_VALUE);
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

export interface EventFileOptions extends TrafficOptions {
  /** Lines to generate. */
  readonly count: number;
  /** Reference time; event times lie before it. */
  readonly nowMs: number;
  /** The (non-late) event times spread over this span before `nowMs`. @default 2h */
  readonly spanMs?: number;
}

/**
 * Lines of an NDJSON event file: event times advance through `spanMs` before `nowMs` as the lines
 * go on, each lagging by up to `disorderMs` (so timestamps are out of order), with the mix of
 * anomalies, malformed, late and duplicate records the options ask for.
 */
export function generateEventLines(options: EventFileOptions): string[] {
  const spanMs = options.spanMs ?? 2 * HOUR_MS;
  const disorder = options.disorderMs ?? 2_000;
  const generator = new TrafficGenerator({ ...options, disorderMs: disorder });
  const start = options.nowMs - spanMs;
  const lines: string[] = [];
  for (let i = 0; i < options.count; i++) {
    // Clock of line i; the generator subtracts the disorder, so nothing lies in the future.
    const clock = start + Math.floor(((i + 1) * spanMs) / options.count);
    lines.push(generator.next(clock).data.toString('utf8'));
  }
  return lines;
}
