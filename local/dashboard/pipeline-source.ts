/**
 * The dashboard's view of a running local pipeline: counters from the speed layer's accounting and
 * the local Firehose, lag from the event source runner, alerts as received from the topic, rolling
 * averages read back from the speed layer's table (the serving layer, as a user would read it) and
 * the batch scheduler's status and table previews.
 */
import type { WindowSpec } from '../../core/speed-config';
import { toSpeedConfig } from '../../contract/config';
import { composeWindow, panesOf, storagePlan, type StoragePlan } from '../../core/panes';
import {
  aggregateKey,
  parseStoredAggregate,
  type StoredAggregate,
} from '../../lambdas/adapters/aggregate-store';
import { batchGetAll } from '../../lambdas/adapters/batch-get';
import type { LocalPipeline } from '../pipeline';
import type { DashboardSnapshot, DashboardSource, SensorReading } from './snapshot';

export interface PipelineSourceOptions {
  /** Sensors charted per metric (the first ones by id). @default 8 */
  readonly sensorsPerMetric?: number;
  /** Alerts listed. @default 20 */
  readonly recentAlerts?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The window whose average the dashboard calls "rolling": the first hopping window in config
 * (it slides), else the first window.
 */
export function rollingWindow(windows: readonly WindowSpec[]): WindowSpec {
  return windows.find((w) => w.hopMs < w.sizeMs) ?? windows[0];
}

/** Start of the instance of `window` that covers `nowMs` and started earliest: the last `size` ms. */
export function rollingWindowStart(window: WindowSpec, nowMs: number): number {
  return Math.floor(nowMs / window.hopMs) * window.hopMs - window.sizeMs + window.hopMs;
}

export class PipelineDashboardSource implements DashboardSource {
  private readonly window: WindowSpec;
  private readonly plan: StoragePlan;
  private readonly now: () => number;

  constructor(
    private readonly pipeline: LocalPipeline,
    private readonly options: PipelineSourceOptions = {},
  ) {
    const windows = toSpeedConfig(pipeline.config).windows;
    this.window = rollingWindow(windows);
    this.plan = storagePlan(windows);
    this.now = options.now ?? Date.now;
  }

  async snapshot(): Promise<DashboardSnapshot> {
    const { accounting, runner, firehose, alerts, batch } = this.pipeline;
    const nowMs = this.now();
    const metrics = runner.metrics();
    const shards = metrics.shards.map((s) => ({
      shardId: s.shardId,
      iteratorAgeMs: s.iteratorAgeMs,
      pending: s.pending,
    }));
    return {
      time: new Date(nowMs).toISOString(),
      totals: { ...accounting.totals, rawLanded: firehose.recordsLanded, alerts: alerts.count },
      eventsPerSecond: accounting.eventsPerSecond(),
      iteratorLagMs: Math.max(0, ...shards.map((s) => s.iteratorAgeMs)),
      shards,
      sensors: await this.sensors(nowMs),
      recentAlerts: alerts.recent(this.options.recentAlerts ?? 20).map((a) => ({
        alertId: a.alertId,
        ruleId: a.ruleId,
        sensorId: a.sensorId,
        metric: a.metric,
        severity: a.severity,
        value: a.value,
        threshold: a.threshold,
        op: a.op,
        eventTime: a.eventTime,
        receivedAt: a.receivedAt,
      })),
      quarantineByReason: accounting.invalidByReason,
      batch: batch.status(),
      drift: this.pipeline.reconciliation.latest,
    };
  }

  private async sensors(nowMs: number): Promise<SensorReading[]> {
    const perMetric = this.options.sensorsPerMetric ?? 8;
    const byMetric = new Map<string, ReturnType<LocalPipeline['accounting']['latest']>>();
    for (const reading of this.pipeline.accounting.latest()) {
      const list = byMetric.get(reading.metric) ?? [];
      list.push(reading);
      byMetric.set(reading.metric, list);
    }
    const shown = [...byMetric.values()].flatMap((list) =>
      list
        .sort((a, b) => (a.sensorId < b.sensorId ? -1 : a.sensorId > b.sensorId ? 1 : 0))
        .slice(0, perMetric),
    );
    const windowStart = rollingWindowStart(this.window, nowMs);
    const averages = await this.rollingAverages(
      shown.map((r) => ({ sensorId: r.sensorId, metric: r.metric })),
      windowStart,
    );
    return shown.map((r) => ({
      sensorId: r.sensorId,
      metric: r.metric,
      current: r.value,
      currentTime: new Date(r.eventTime).toISOString(),
      rollingAvg: averages.get(`${r.sensorId}\n${r.metric}`) ?? null,
      rollingWindow: this.window.name,
    }));
  }

  /**
   * Averages of the window instances starting at `windowStart`, by `sensorId\nmetric`: a stored
   * window's items, or a hopping window composed from its panes (`core/panes.ts`).
   */
  private async rollingAverages(
    keys: ReadonlyArray<{ sensorId: string; metric: string }>,
    windowStart: number,
  ): Promise<Map<string, number>> {
    const window = this.window;
    const pane = this.plan.composed.includes(window) ? this.plan.pane : undefined;
    const itemKeys = keys.flatMap((k) =>
      pane
        ? panesOf(window, pane, windowStart).map((start) => ({ ...k, window: pane.name, windowStart: start }))
        : [{ ...k, window: window.name, windowStart }],
    );
    const items = await batchGetAll(
      this.pipeline.clients.dynamodb,
      this.pipeline.resources.tableName,
      itemKeys.map((k) => {
        const key = aggregateKey(k);
        return { pk: { S: key.pk }, sk: { S: key.sk } };
      }),
    );
    const bySeries = new Map<string, StoredAggregate[]>();
    for (const aggregate of items.map(parseStoredAggregate)) {
      const series = `${aggregate.sensorId}\n${aggregate.metric}`;
      const list = bySeries.get(series);
      if (list) list.push(aggregate);
      else bySeries.set(series, [aggregate]);
    }
    const averages = new Map<string, number>();
    for (const [series, items] of bySeries) {
      const [instance] = pane ? composeWindow(window, pane, items, [windowStart]) : items;
      if (instance) averages.set(series, instance.sum / instance.count);
    }
    return averages;
  }
}
