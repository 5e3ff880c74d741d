/**
 * Zero-latency ports for the speed benchmark: they do what the DynamoDB, SNS and S3 adapters do
 * minus the I/O. Every partial is written; alert groups go through the same cooldown the alert store
 * applies (`applyCooldown` over the pruned alert times of each sensor and rule), so only real alerts
 * are published, as on AWS.
 */
import { applyCooldown, pruneAlertTimes } from '../core/alerts';
import type { ItemOutcome } from '../lambdas/adapters/aggregate-store';
import type { GroupOutcome } from '../lambdas/adapters/alert-store';
import type { BatchPorts } from '../lambdas/stream-processor/process-batch';

export interface InMemoryCounts {
  updates: number;
  published: number;
  quarantined: number;
}

export function inMemoryPorts(): { ports: BatchPorts; counts: InMemoryCounts } {
  const counts: InMemoryCounts = { updates: 0, published: 0, quarantined: 0 };
  const alertTimes = new Map<string, number[]>();
  const ports: BatchPorts = {
    quarantine: {
      write: async (records) => {
        counts.quarantined += records.length;
        return 'quarantine/bench';
      },
    },
    aggregates: {
      apply: async (partials) => {
        const outcomes: ItemOutcome[] = [];
        for (const [id, partial] of partials) {
          counts.updates += 1;
          outcomes.push({
            id,
            alreadyApplied: 0,
            written: true,
            conflicts: 0,
            // The item as written; built only when read (window rules), as the adapter returns what it wrote.
            get state() {
              return { ...partial, marks: {}, version: 1 };
            },
          });
        }
        return outcomes;
      },
    },
    alerts: {
      record: async (groups, oldestPossibleBreach) =>
        groups.map((group): GroupOutcome => {
          const key = `${group.sensorId}|${group.rule.id}`;
          const times = pruneAlertTimes(
            alertTimes.get(key) ?? [],
            oldestPossibleBreach,
            group.rule.cooldownMs,
          );
          const { alerts, alertTimes: next } = applyCooldown(times, group.breaches, group.rule.cooldownMs);
          alertTimes.set(key, next);
          return { group, toPublish: alerts };
        }),
      clearPending: async () => undefined,
    },
    publisher: {
      publish: async () => {
        counts.published += 1;
      },
    },
  };
  return { ports, counts };
}
