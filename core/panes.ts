/**
 * Panes ("No pane, no gain", Li et al., SIGMOD Record 2005; Flink SQL's HOP windows): a hopping
 * window of size S and hop H is the union of S/P consecutive panes of P = gcd(S, H). An event falls
 * in one pane but in S/H instances of the hopping window, so the speed layer writes the pane and
 * composes the hopping instances when they are read: with the default windows (1m, 5m hopping by
 * 1m, 1h) an event is written to 2 items instead of 7.
 *
 * Tumbling windows are stored as they are (the hourly one is what reconciliation reads); the pane is
 * the tumbling window of its size when one is configured, else a window of its own (`PANE_WINDOW`)
 * that no reader outside the speed layer lists.
 */
import { mergeValues, type WindowValues } from './aggregate';
import { findHourlyWindow } from './reconcile';
import type { WindowSpec } from './speed-config';
import { latestWindowStart } from './windows';

/** Name of the pane series when no configured tumbling window has the pane's size. Not a valid window name (`~`). */
export const PANE_WINDOW = '~pane';

export interface StoragePlan {
  /** The windows written as items: every tumbling window, and the pane if it is not one of them. */
  readonly stored: readonly WindowSpec[];
  /** The hopping windows, composed from `pane` items when read. */
  readonly composed: readonly WindowSpec[];
  /** The pane of every composed window (undefined when no window hops). */
  readonly pane?: WindowSpec;
  /**
   * How long after its end a stored item must outlive its window: a pane is read until the last
   * composed instance it belongs to ends, up to (longest composed size - pane size) later.
   */
  readonly retainAfterEndMs: (window: string) => number;
  /**
   * The stored window listed in the window index (`WINDOW_INDEX` of contract/table-keys.ts): the
   * tumbling hour, which the speed export and top-N reads list series by. Undefined without one.
   */
  readonly indexed?: string;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The pane of a set of hopping windows: the gcd of their sizes and hops. */
export function paneMs(hopping: readonly WindowSpec[]): number | undefined {
  if (hopping.length === 0) return undefined;
  return hopping.reduce((p, w) => gcd(gcd(p, w.sizeMs), w.hopMs), 0);
}

export function isHopping(window: WindowSpec): boolean {
  return window.hopMs < window.sizeMs;
}

export function storagePlan(windows: readonly WindowSpec[]): StoragePlan {
  const composed = windows.filter(isHopping);
  const tumbling = windows.filter((w) => !isHopping(w));
  const size = paneMs(composed);
  const indexed = findHourlyWindow(tumbling)?.name;
  if (size === undefined) return { stored: tumbling, composed, retainAfterEndMs: () => 0, indexed };
  const pane = tumbling.find((w) => w.sizeMs === size) ?? { name: PANE_WINDOW, sizeMs: size, hopMs: size };
  const stored = tumbling.includes(pane) ? tumbling : [...tumbling, pane];
  const extra = Math.max(...composed.map((w) => w.sizeMs)) - size;
  return {
    stored,
    composed,
    pane,
    retainAfterEndMs: (window) => (window === pane.name ? extra : 0),
    indexed,
  };
}

/** Starts of the panes one instance of `window` starting at `start` is made of, earliest first. */
export function panesOf(window: WindowSpec, pane: WindowSpec, start: number): number[] {
  const starts: number[] = [];
  for (let t = start; t < start + window.sizeMs; t += pane.sizeMs) starts.push(t);
  return starts;
}

/** Starts of the instances of `window` that contain the pane starting at `paneStart`, earliest first. */
export function instancesContaining(window: WindowSpec, paneStart: number): number[] {
  const latest = latestWindowStart(paneStart, window);
  const starts: number[] = [];
  for (let start = latest - window.sizeMs + window.hopMs; start <= latest; start += window.hopMs) {
    starts.push(start);
  }
  return starts;
}

/**
 * The instances of `window` that the given panes of one series make, each the merge of its panes
 * (in event-time order, so a sum is always added up the same way). `only` limits the result to those
 * instance starts; by default every instance containing one of the panes is composed. An instance
 * none of whose panes holds an event is left out, as a window nobody wrote is.
 */
export function composeWindow(
  window: WindowSpec,
  pane: WindowSpec,
  panes: readonly WindowValues[],
  only?: Iterable<number>,
): WindowValues[] {
  const byStart = new Map<number, WindowValues>();
  for (const p of panes) byStart.set(p.windowStart, p);
  const starts = only
    ? [...new Set(only)]
    : [...new Set(panes.flatMap((p) => instancesContaining(window, p.windowStart)))];
  const instances: WindowValues[] = [];
  for (const start of starts.sort((a, b) => a - b)) {
    let instance: WindowValues | undefined;
    for (const paneStart of panesOf(window, pane, start)) {
      const p = byStart.get(paneStart);
      if (p === undefined || p.count === 0) continue;
      instance = instance
        ? mergeValues(instance, p)
        : {
            sensorId: p.sensorId,
            metric: p.metric,
            window: window.name,
            windowStart: start,
            windowEnd: start + window.sizeMs,
            count: p.count,
            sum: p.sum,
            min: p.min,
            max: p.max,
            firstEventTime: p.firstEventTime,
            lastEventTime: p.lastEventTime,
          };
    }
    if (instance) instances.push(instance);
  }
  return instances;
}

/**
 * Every configured window's instances from stored items of any series: stored windows as they are
 * (the pane too only when it is a configured window), hopping ones composed from the panes.
 */
export function windowsFromStored(plan: StoragePlan, items: readonly WindowValues[]): WindowValues[] {
  const configured = new Set(plan.stored.map((w) => w.name));
  configured.delete(PANE_WINDOW);
  const result = items.filter((item) => configured.has(item.window));
  if (plan.pane === undefined) return result;
  const paneName = plan.pane.name;
  const bySeries = new Map<string, WindowValues[]>();
  for (const item of items) {
    if (item.window !== paneName) continue;
    const key = `${item.sensorId}\n${item.metric}`;
    const list = bySeries.get(key);
    if (list) list.push(item);
    else bySeries.set(key, [item]);
  }
  for (const panes of bySeries.values()) {
    for (const window of plan.composed) result.push(...composeWindow(window, plan.pane, panes));
  }
  return result;
}
