/**
 * What the local dashboard shows, as one JSON document (`GET /api/snapshot`, and every second on the
 * `GET /api/stream` server-sent event stream). The page (static/app.js) only renders it.
 */
import type { AlertMessage } from '../../lambdas/adapters/alert-publisher';
import type { ReconciliationReport } from '../../core/reconcile';

export interface DashboardTotals {
  /** Records read by the speed layer (each counted once, however often it was retried). */
  readonly ingested: number;
  readonly valid: number;
  readonly invalid: number;
  readonly late: number;
  /** Records written to the raw zone of the lake. */
  readonly rawLanded: number;
  /** Distinct alerts received on the alerts topic. */
  readonly alerts: number;
}

export interface SensorReading {
  readonly sensorId: string;
  readonly metric: string;
  /** The value of the latest event (by event time), or null before any. */
  readonly current: number | null;
  /** ISO-8601 event time of `current`. */
  readonly currentTime: string | null;
  /** Average of the speed layer's latest aggregate of `rollingWindow`, read from DynamoDB. */
  readonly rollingAvg: number | null;
  readonly rollingWindow: string;
}

/** An alert as the dashboard lists it: the published message, and when it arrived locally. */
export type DashboardAlert = Pick<
  AlertMessage,
  'alertId' | 'ruleId' | 'sensorId' | 'metric' | 'severity' | 'value' | 'threshold' | 'op' | 'eventTime'
> & {
  /** ISO-8601 time the alert arrived on the local alerts queue. */
  readonly receivedAt: string;
};

export interface ShardLag {
  readonly shardId: string;
  readonly iteratorAgeMs: number;
  readonly pending: number;
}

export interface BatchTablePreview {
  readonly name: string;
  readonly rows: number;
  readonly columns: readonly string[];
  /** The latest rows, already formatted as strings. */
  readonly preview: ReadonlyArray<readonly string[]>;
}

export interface BatchStatus {
  readonly state: 'idle' | 'running' | 'failed' | 'disabled';
  readonly lastRunAt: string | null;
  readonly lastRunDays: readonly string[];
  readonly nextRunAt: string | null;
  readonly error: string | null;
  readonly tables: readonly BatchTablePreview[];
}

export interface DashboardSnapshot {
  /** ISO-8601 time of the snapshot. */
  readonly time: string;
  readonly totals: DashboardTotals;
  /** Records per second through the speed layer, over the last few seconds. */
  readonly eventsPerSecond: number;
  /** The largest iterator age over all shards, ms. */
  readonly iteratorLagMs: number;
  readonly shards: readonly ShardLag[];
  readonly sensors: readonly SensorReading[];
  /** Most recent first. */
  readonly recentAlerts: readonly DashboardAlert[];
  readonly quarantineByReason: Readonly<Record<string, number>>;
  readonly batch: BatchStatus;
  /**
   * Speed-vs-batch drift after the latest batch run (local/reconcile.ts), with its largest
   * differences; null before the first run.
   */
  readonly drift?: ReconciliationReport | null;
}

/** Where the dashboard server gets its data. */
export interface DashboardSource {
  snapshot(): Promise<DashboardSnapshot>;
}
