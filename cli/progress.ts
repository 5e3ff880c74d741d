/**
 * A progress bar for long commands. On a terminal it redraws one line in place (at most ten times a
 * second); otherwise (CI logs, pipes) it writes a plain line every `logEveryMs` so the output stays
 * readable, and never writes control characters.
 */

export interface ProgressOptions {
  /** Shown before the bar, e.g. `producing`. */
  readonly label: string;
  /** Units of work; unknown totals show a count and a rate without a bar. */
  readonly total?: number;
  /** What is counted, e.g. `events`. @default 'items' */
  readonly unit?: string;
  /** @default process.stderr */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Interval of plain progress lines when the stream is not a terminal. @default 10000 */
  readonly logEveryMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const BAR_WIDTH = 24;

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatSeconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export class ProgressBar {
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly now: () => number;
  private readonly started: number;
  private readonly tty: boolean;
  private lastDraw = 0;
  private lastLog: number;
  private done = 0;
  private note = '';
  private finished = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.lastLog = this.started;
    this.tty = this.stream.isTTY === true;
  }

  /** Sets the amount done (absolute) and an optional note shown after the numbers. */
  update(done: number, note?: string): void {
    if (this.finished) return;
    this.done = done;
    if (note !== undefined) this.note = note;
    const now = this.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && done !== this.options.total) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.fit(this.line(now))}\x1b[K`);
    } else if (now - this.lastLog >= (this.options.logEveryMs ?? 10_000)) {
      this.lastLog = now;
      this.stream.write(`${this.line(now)}\n`);
    }
  }

  /** Ends the bar; `summary` replaces it (or follows it, off a terminal). */
  finish(summary?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.tty) this.stream.write('\r\x1b[K');
    if (summary) this.stream.write(`${summary}\n`);
  }

  /** The current progress line, without control characters. */
  line(now = this.now()): string {
    const { label, total } = this.options;
    const unit = this.options.unit ?? 'items';
    const elapsed = now - this.started;
    const rate = elapsed > 0 ? (this.done * 1000) / elapsed : 0;
    const parts: string[] = [label];
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, this.done / total);
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`);
      parts.push(`${String(Math.floor(fraction * 100)).padStart(3)}%`);
      parts.push(`${formatCount(this.done)}/${formatCount(total)} ${unit}`);
    } else {
      parts.push(`${formatCount(this.done)} ${unit}`);
    }
    parts.push(`${formatCount(rate)}/s`);
    parts.push(formatSeconds(elapsed));
    if (total !== undefined && rate > 0 && this.done < total)
      parts.push(`eta ${formatSeconds(((total - this.done) / rate) * 1000)}`);
    if (this.note) parts.push(this.note);
    return parts.join('  ');
  }

  private fit(text: string): string {
    const columns = this.stream.columns ?? 100;
    return text.length < columns ? text : text.slice(0, Math.max(10, columns - 1));
  }
}
