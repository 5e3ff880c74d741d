/**
 * The cost model's workload as stream records: `seriesCount` (sensor, metric) series, two metrics
 * per sensor (temperature, humidity), each reporting once every `reportIntervalMs` at its own seeded
 * phase with seeded jitter, every event `eventBytes` of JSON, partition key = sensorId. Temperature
 * crosses the default alert rule's threshold (28) on `anomalyRate` of its events.
 *
 * Seeded and pure: the same options give the same records, and a series draws the same numbers
 * whether or not `includeSensor` keeps it (so a subset of shards sees exactly its share of the whole).
 */
import { hashSeed, mulberry32 } from '../local/chaos/prng';

export interface SensorWorkloadOptions {
  /** (sensor, metric) series; sensors = seriesCount / 2. */
  readonly seriesCount: number;
  readonly reportIntervalMs: number;
  /** JSON bytes of every event (padded with an attribute). */
  readonly eventBytes: number;
  /** Each report's event time lies up to this much after its slot, at random. */
  readonly jitterMs: number;
  /** Each record reaches the stream up to this much after its event time, at random. */
  readonly arrivalDelayMs: number;
  /** Share of temperature events above the default rule's threshold. */
  readonly anomalyRate: number;
  readonly seed: number;
  /** The first report slot; series phases spread over the interval after it. */
  readonly startMs: number;
  /** Only sensors it accepts produce records. @default every sensor */
  readonly includeSensor?: (sensorId: string) => boolean;
}

export interface StreamEvent {
  readonly arrivalMs: number;
  readonly eventTimeMs: number;
  readonly sensorId: string;
  /** The record's data: one JSON event. */
  readonly data: string;
}

const METRICS = [
  { metric: 'temperature', unit: 'C' },
  { metric: 'humidity', unit: '%' },
] as const;
const SITES = ['plant-north', 'plant-south', 'warehouse', 'lab'];

export function sensorIdOf(series: number): string {
  return `sensor-${String(Math.floor(series / METRICS.length)).padStart(6, '0')}`;
}

export class SensorWorkload {
  private readonly phases: number[];
  private readonly included: boolean[];
  /** Generated, not yet taken, in arrival order. */
  private buffer: StreamEvent[] = [];
  private generatedPeriods = 0;

  constructor(private readonly options: SensorWorkloadOptions) {
    if (options.jitterMs + options.arrivalDelayMs >= options.reportIntervalMs)
      throw new RangeError('jitterMs + arrivalDelayMs must be less than reportIntervalMs');
    const random = mulberry32(hashSeed(options.seed, 'phase'));
    this.phases = Array.from({ length: options.seriesCount }, () =>
      Math.floor(random() * options.reportIntervalMs),
    );
    this.included = Array.from(
      { length: options.seriesCount },
      (_, series) => options.includeSensor?.(sensorIdOf(series)) ?? true,
    );
  }

  /** Every record arriving before `untilMs` not taken yet, in arrival order. */
  takeUntil(untilMs: number): StreamEvent[] {
    const { startMs, reportIntervalMs } = this.options;
    // A period's records arrive at or after its start: once every period starting before `untilMs`
    // is generated, every record arriving before it is in the buffer.
    let grown = false;
    while (startMs + this.generatedPeriods * reportIntervalMs < untilMs) {
      this.buffer.push(...this.period(this.generatedPeriods));
      this.generatedPeriods += 1;
      grown = true;
    }
    if (grown) this.buffer.sort((a, b) => a.arrivalMs - b.arrivalMs);
    let taken = 0;
    while (taken < this.buffer.length && this.buffer[taken].arrivalMs < untilMs) taken++;
    return this.buffer.splice(0, taken);
  }

  /** Every series' report in period `k`, in series order. */
  private period(k: number): StreamEvent[] {
    const o = this.options;
    const random = mulberry32(hashSeed(o.seed, 'period', k));
    const events: StreamEvent[] = [];
    for (let series = 0; series < o.seriesCount; series++) {
      const jitter = random() * o.jitterMs;
      const delay = random() * o.arrivalDelayMs;
      const level = random();
      const anomaly = random() < o.anomalyRate;
      if (!this.included[series]) continue;
      const eventTimeMs = Math.floor(o.startMs + k * o.reportIntervalMs + this.phases[series] + jitter);
      const { metric, unit } = METRICS[series % METRICS.length];
      const value = metric === 'temperature' ? (anomaly ? 29 + 6 * level : 19 + 6 * level) : 40 + 20 * level;
      const sensorId = sensorIdOf(series);
      events.push({
        arrivalMs: eventTimeMs + Math.floor(delay),
        eventTimeMs,
        sensorId,
        data: eventJson(
          {
            eventId: `cost-${series}-${k}`,
            sensorId,
            metric,
            value: Math.round(value * 100) / 100,
            unit,
            timestamp: new Date(eventTimeMs).toISOString(),
          },
          SITES[Math.floor(series / METRICS.length) % SITES.length],
          o.eventBytes,
        ),
      });
    }
    return events;
  }
}

/** The event as JSON of exactly `bytes` bytes, padded in an attribute. */
export function eventJson(event: Record<string, string | number>, site: string, bytes: number): string {
  const bare = JSON.stringify({ ...event, attributes: { site, pad: '' } });
  const padding = bytes - Buffer.byteLength(bare);
  if (padding < 0)
    throw new RangeError(`the event needs ${Buffer.byteLength(bare)} bytes, more than ${bytes}`);
  return JSON.stringify({ ...event, attributes: { site, pad: 'x'.repeat(padding) } });
}
