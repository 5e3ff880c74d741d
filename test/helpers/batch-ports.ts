/**
 * In-memory stand-ins for the stream processor's ports (`BatchPorts`): they succeed at once unless
 * told to fail, and record what they were asked to do. Used by processBatch unit tests and by the
 * speed benchmark, which must exclude emulator I/O.
 */
import type { ItemOutcome } from '../../lambdas/adapters/aggregate-store';
import type { GroupOutcome } from '../../lambdas/adapters/alert-store';
import type { BatchPorts } from '../../lambdas/stream-processor/process-batch';

/** Ports that succeed, recording what they were asked to do; `failItem` makes one aggregate item fail. */
export function fakePorts(
  options: { failItem?: string; failQuarantine?: boolean; failPublish?: boolean } = {},
) {
  const calls = {
    quarantined: 0,
    applied: [] as string[],
    published: [] as string[],
    /** Every alert group handed to the alert store, as `sensorId|ruleId: eventTime,...`. */
    groups: [] as string[],
  };
  const ports: BatchPorts = {
    quarantine: {
      write: async (records) => {
        if (options.failQuarantine) throw new Error('S3 down');
        calls.quarantined += records.length;
        return 'key';
      },
    },
    aggregates: {
      apply: async (partials) =>
        [...partials.entries()].map(([id, p]): ItemOutcome => {
          calls.applied.push(id);
          return id.startsWith(options.failItem ?? '\u0000')
            ? {
                id,
                alreadyApplied: 0,
                written: false,
                conflicts: 0,
                error: new Error('throttled'),
              }
            : {
                id,
                alreadyApplied: 0,
                written: true,
                conflicts: 0,
                // Built only when read (window rules), like the adapter's read of the stored item.
                get state() {
                  return { ...p, marks: {}, version: 1 };
                },
              };
        }),
    },
    alerts: {
      record: async (groups) =>
        groups.map((group): GroupOutcome => {
          calls.groups.push(
            `${group.sensorId}|${group.rule.id}: ${group.breaches.map((b) => b.eventTime).join(',')}`,
          );
          return {
            group,
            toPublish: group.breaches.map((b) => ({ ...b, alertId: `a-${b.eventTime}` })),
          };
        }),
      clearPending: async () => undefined,
    },
    publisher: {
      publish: async (alert) => {
        if (options.failPublish) throw new Error('SNS throttled');
        calls.published.push(alert.alertId);
      },
    },
  };
  return { ports, calls };
}
