/**
 * The one set of in-memory stand-ins for the stream processor's ports (`BatchPorts`), shared by the
 * processBatch unit tests and the speed benchmark (which must exclude emulator I/O). They do what
 * the DynamoDB, SNS and S3 adapters do minus the I/O, succeed at once unless told to fail, count
 * what they were asked to do and, unless `record` is false, record it.
 *
 * Alerts: with `alerts: 'cooldown'` the alert store applies the cooldown the real one applies
 * (`applyCooldown` over the pruned alert times of each sensor and rule), so only real alerts are
 * published, as on AWS; with `'every-breach'` (the default) every breach is an alert (`a-<eventTime>`),
 * which lets a unit test see exactly which breaches processBatch handed over.
 */
import { applyCooldown, pruneAlertTimes } from '../../core/alerts';
import type { ItemOutcome } from '../../lambdas/adapters/aggregate-store';
import type { AlertGroup, GroupOutcome } from '../../lambdas/adapters/alert-store';
import type { BatchPorts } from '../../lambdas/stream-processor/process-batch';

export interface InMemoryPortsOptions {
  /** Aggregate items whose id starts with this fail. @default - none fails */
  readonly failItem?: string;
  /** @default false */
  readonly failQuarantine?: boolean;
  /** @default false */
  readonly failPublish?: boolean;
  /** @default 'every-breach' */
  readonly alerts?: 'cooldown' | 'every-breach';
  /** Keep the lists in `calls` (the benchmark turns it off to time processBatch alone). @default true */
  readonly record?: boolean;
}

export interface InMemoryCounts {
  quarantined: number;
  updates: number;
  published: number;
}

export interface InMemoryCalls {
  /** Aggregate item ids handed to the store. */
  readonly applied: string[];
  /** Published alert ids. */
  readonly published: string[];
  /** Every alert group handed to the alert store, as `sensorId|ruleId: eventTime,...`. */
  readonly groups: string[];
}

export function inMemoryPorts(options: InMemoryPortsOptions = {}): {
  ports: BatchPorts;
  counts: InMemoryCounts;
  calls: InMemoryCalls;
} {
  const record = options.record ?? true;
  const counts: InMemoryCounts = { quarantined: 0, updates: 0, published: 0 };
  const calls: InMemoryCalls = { applied: [], published: [], groups: [] };
  const alertTimes = new Map<string, number[]>();
  const toPublish =
    options.alerts === 'cooldown'
      ? (group: AlertGroup, oldestPossibleBreach: number): GroupOutcome => {
          const key = `${group.sensorId}|${group.rule.id}`;
          const times = pruneAlertTimes(
            alertTimes.get(key) ?? [],
            oldestPossibleBreach,
            group.rule.cooldownMs,
          );
          const { alerts, alertTimes: next } = applyCooldown(times, group.breaches, group.rule.cooldownMs);
          alertTimes.set(key, next);
          return { group, toPublish: alerts };
        }
      : (group: AlertGroup): GroupOutcome => ({
          group,
          toPublish: group.breaches.map((b) => ({ ...b, alertId: `a-${b.eventTime}` })),
        });
  const ports: BatchPorts = {
    quarantine: {
      write: async (records) => {
        if (options.failQuarantine) throw new Error('S3 down');
        counts.quarantined += records.length;
        return 'quarantine/in-memory';
      },
    },
    aggregates: {
      apply: async (partials) =>
        [...partials.entries()].map(([id, partial]): ItemOutcome => {
          counts.updates += 1;
          if (record) calls.applied.push(id);
          return options.failItem !== undefined && id.startsWith(options.failItem)
            ? { id, alreadyApplied: 0, written: false, conflicts: 0, error: new Error('throttled') }
            : {
                id,
                alreadyApplied: 0,
                written: true,
                conflicts: 0,
                // The item as written; built only when read (window rules), as the adapter returns what it wrote.
                get state() {
                  return { ...partial, marks: {}, version: 1 };
                },
              };
        }),
      // Nothing is kept between batches: a hopping window is composed from the batch's own panes.
      read: async (keys) => keys.map(() => undefined),
    },
    alerts: {
      record: async (groups, oldestPossibleBreach) =>
        groups.map((group) => {
          if (record)
            calls.groups.push(
              `${group.sensorId}|${group.rule.id}: ${group.breaches.map((b) => b.eventTime).join(',')}`,
            );
          return toPublish(group, oldestPossibleBreach);
        }),
      clearPending: async () => undefined,
    },
    publisher: {
      publish: async (alert) => {
        if (options.failPublish) throw new Error('SNS throttled');
        counts.published += 1;
        if (record) calls.published.push(alert.alertId);
      },
    },
  };
  return { ports, counts, calls };
}
