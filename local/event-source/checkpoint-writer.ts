/**
 * Saves a consumer's shard checkpoints to a `CheckpointStore` as they advance, without making the
 * shards wait: at most one save is in flight, and each save writes the latest state of every shard,
 * so the advances made during a save are coalesced into the next one.
 *
 * A checkpoint is only ever saved after the records it covers are done, so the saved state lags the
 * real one by at most one save: after a crash, a resumed consumer re-delivers the records done since
 * the last save (at least once), never skips one. A failed save is reported and retried with backoff;
 * it loses nothing, it only widens what a crash would re-deliver.
 */
import type { CheckpointKey, CheckpointStore, ShardCheckpoint, StreamIdentity } from './checkpoint-store';

export interface CheckpointWriterOptions {
  readonly store: CheckpointStore;
  readonly key: CheckpointKey;
  /** The stream the checkpoints are of (see `StreamCheckpoints`). */
  readonly stream: StreamIdentity;
  /** Told about every failed save, with how many failed in a row. */
  readonly onError: (error: unknown, failuresInARow: number) => void;
  /** Told after every successful save. @default - nothing */
  readonly onSaved?: () => void;
  /** First pause before retrying a failed save; doubles per failure, up to 5 s. @default 100 */
  readonly retryBackoffMs?: number;
}

export class CheckpointWriter {
  private readonly shards = new Map<string, ShardCheckpoint>();
  /** Bumped by every change; `savedVersion` is the version the last successful save wrote. */
  private version = 0;
  private savedVersion = 0;
  private saving: Promise<boolean> = Promise.resolve(true);
  private inFlight = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failuresInARow = 0;
  private closed = false;

  constructor(private readonly options: CheckpointWriterOptions) {}

  /** The checkpoint last set for `shardId`. */
  get(shardId: string): ShardCheckpoint | undefined {
    return this.shards.get(shardId);
  }

  /** Records a shard's new checkpoint; it is saved in the background. */
  set(shardId: string, checkpoint: ShardCheckpoint): void {
    this.shards.set(shardId, checkpoint);
    this.version++;
    this.kick();
  }

  /**
   * Saves what is not saved yet. Resolves true once everything set before the call is saved, false
   * when that save failed (already reported to `onError`).
   */
  async flush(): Promise<boolean> {
    if (this.savedVersion >= this.version) return true;
    return this.saveLatest();
  }

  /** Stops background retries; `flush()` still saves on request. */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private kick(): void {
    if (this.inFlight || this.retryTimer || this.closed) return;
    this.inFlight = true;
    void this.saveLatest().then((ok) => {
      this.inFlight = false;
      if (this.savedVersion >= this.version || this.closed) return;
      if (ok) {
        this.kick();
        return;
      }
      const backoff = Math.min(5_000, (this.options.retryBackoffMs ?? 100) * 2 ** (this.failuresInARow - 1));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, backoff);
    });
  }

  /** One save of the current state of every shard, after the save in progress (if any). */
  private saveLatest(): Promise<boolean> {
    const attempt = this.saving.then(async () => {
      if (this.savedVersion >= this.version) return true;
      const version = this.version;
      try {
        await this.options.store.save(this.options.key, {
          ...this.options.stream,
          shards: Object.fromEntries(this.shards),
        });
      } catch (error) {
        this.failuresInARow++;
        this.options.onError(error, this.failuresInARow);
        return false;
      }
      this.savedVersion = Math.max(this.savedVersion, version);
      this.failuresInARow = 0;
      this.options.onSaved?.();
      return true;
    });
    this.saving = attempt;
    return attempt;
  }
}
