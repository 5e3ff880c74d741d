/**
 * Event-time window assignment. Windows are aligned to the Unix epoch: a window of size S and hop H
 * starts at every multiple of H and covers [start, start + S). Tumbling windows have H = S.
 */
import type { WindowSpec } from './speed-config';

export interface WindowInstance {
  readonly window: string;
  /** Inclusive start, epoch ms. */
  readonly start: number;
  /** Exclusive end, epoch ms. */
  readonly end: number;
}

/** Start of the latest instance of `spec` covering `eventTime` (the hop boundary at or before it). */
export function latestWindowStart(eventTime: number, spec: WindowSpec): number {
  return Math.floor(eventTime / spec.hopMs) * spec.hopMs;
}

/** Every instance of `spec` that covers `eventTime`, earliest first (size/hop of them). */
export function windowsCovering(eventTime: number, spec: WindowSpec): WindowInstance[] {
  const latestStart = latestWindowStart(eventTime, spec);
  const count = spec.sizeMs / spec.hopMs;
  const instances: WindowInstance[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const start = latestStart - i * spec.hopMs;
    instances.push({ window: spec.name, start, end: start + spec.sizeMs });
  }
  return instances;
}
