/**
 * Sends generated traffic at a steady rate: every tick it works out how many events are due
 * (rate × elapsed time), generates them, packs them into records as `packing` says (contract v1.1:
 * NDJSON lines or KPL aggregates; one event per record by default) and puts them in PutRecords calls
 * of up to 500 events, with a few calls in flight so the rate holds even when one call is slow. A
 * call's failed entries are retried by the writer, each a whole packed record. Used by `sluice
 * produce` and by the demo of `sluice local`.
 */
import { packEvents, type PackOptions } from '../core/record-packing';
import type { GeneratedRecord, TrafficGenerator, TrafficKind } from '../local/demo-producer';
import { MAX_RECORDS_PER_CALL, type RecordWriter } from './record-writer';

export interface TrafficPumpOptions {
  readonly writer: RecordWriter;
  readonly generator: TrafficGenerator;
  /** Events per second. */
  readonly ratePerSecond: number;
  /** How events are packed into records. @default { mode: 'none' } */
  readonly packing?: PackOptions;
  /** Stop after this many events. @default - no limit */
  readonly total?: number;
  /** Stop after this long. @default - no limit */
  readonly durationMs?: number;
  /** PutRecords calls in flight at once. @default 4 */
  readonly maxInFlight?: number;
  /** @default 50 */
  readonly tickMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told after every call that succeeded. */
  readonly onProgress?: (stats: PumpStats) => void;
}

export interface PumpStats {
  /** Events Kinesis accepted. */
  readonly sent: number;
  /** Kinesis records that carried them. */
  readonly records: number;
  readonly byKind: Readonly<Record<TrafficKind, number>>;
  readonly elapsedMs: number;
  /** Records due by now but not yet sent (the pump is behind). */
  readonly backlog: number;
}

export class TrafficPump {
  private readonly now: () => number;
  private started = 0;
  private generated = 0;
  private sent = 0;
  private records = 0;
  private readonly byKind: Record<TrafficKind, number> = {
    normal: 0,
    anomaly: 0,
    malformed: 0,
    late: 0,
    duplicate: 0,
  };
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private failure: unknown;
  private resolveDone!: (stats: PumpStats) => void;
  private rejectDone!: (error: unknown) => void;
  /** Settles when the pump has stopped (limit reached, `stop()`, or a call failed for good). */
  readonly done: Promise<PumpStats>;

  constructor(private readonly options: TrafficPumpOptions) {
    if (!(options.ratePerSecond > 0))
      throw new RangeError(`ratePerSecond: got ${options.ratePerSecond}; must be positive`);
    this.now = options.now ?? Date.now;
    this.done = new Promise<PumpStats>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  start(): this {
    this.started = this.now();
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 50);
    this.tick();
    return this;
  }

  /** Stops generating; resolves once the calls in flight have finished. */
  stop(): Promise<PumpStats> {
    this.stopping = true;
    this.finishIfIdle();
    return this.done;
  }

  stats(): PumpStats {
    const elapsedMs = this.started ? this.now() - this.started : 0;
    return {
      sent: this.sent,
      records: this.records,
      byKind: { ...this.byKind },
      elapsedMs,
      backlog: Math.max(0, this.due() - this.generated),
    };
  }

  /** Records due by now: rate × elapsed, capped by the total and the duration. */
  private due(): number {
    const { ratePerSecond, total, durationMs } = this.options;
    const elapsed = Math.min(this.now() - this.started, durationMs ?? Number.POSITIVE_INFINITY);
    return Math.min(total ?? Number.POSITIVE_INFINITY, Math.floor((ratePerSecond * elapsed) / 1000));
  }

  private limitReached(): boolean {
    const { total, durationMs } = this.options;
    return (
      (total !== undefined && this.generated >= total) ||
      (durationMs !== undefined && this.now() - this.started >= durationMs && this.generated >= this.due())
    );
  }

  private tick(): void {
    if (this.stopping || this.failure !== undefined) return;
    const maxInFlight = this.options.maxInFlight ?? 4;
    while (this.inFlight < maxInFlight) {
      const count = Math.min(MAX_RECORDS_PER_CALL, this.due() - this.generated);
      if (count <= 0) break;
      const nowMs = this.now();
      const records: GeneratedRecord[] = [];
      for (let i = 0; i < count; i++) records.push(this.options.generator.next(nowMs));
      this.generated += count;
      this.send(records);
    }
    if (this.limitReached()) {
      this.stopping = true;
      this.finishIfIdle();
    }
  }

  private send(events: readonly GeneratedRecord[]): void {
    this.inFlight++;
    const records = packEvents(events, this.options.packing ?? { mode: 'none' });
    this.options.writer.putCall(records).then(
      () => {
        this.inFlight--;
        this.sent += events.length;
        this.records += records.length;
        for (const event of events) this.byKind[event.kind]++;
        this.options.onProgress?.(this.stats());
        this.finishIfIdle();
      },
      (error: unknown) => {
        this.inFlight--;
        this.failure ??= error;
        this.stopping = true;
        this.finishIfIdle();
      },
    );
  }

  private finishIfIdle(): void {
    if (!this.stopping || this.inFlight > 0) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.failure !== undefined) this.rejectDone(this.failure);
    else this.resolveDone(this.stats());
  }
}
