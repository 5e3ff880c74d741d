/**
 * The speed-layer repair driven by the stream processors' on-failure queues: receive the given-up
 * batches, repair them (repair-batches.ts) in the role of the processor that gave each up, and
 * delete a message only once its batch is `repaired`. A message the run could not repair (a failure,
 * a conflict storm) is made visible again for the next run; one whose records have left the stream
 * (`expired`), or whose body is not an on-failure document, stays for the operator (runbook).
 */
import type { ProcessorRole } from '../../core/speed-config';
import type { OnFailureMessage, OnFailureQueue } from '../adapters/on-failure-queue';
import {
  repairBatches,
  type GivenUpBatch,
  type RepairOptions,
  type RepairPorts,
  type RepairReport,
} from './repair-batches';

export interface RepairQueue {
  readonly queue: Pick<OnFailureQueue, 'receive' | 'delete' | 'release' | 'queueUrl'>;
  /**
   * The role of the processor whose on-failure queue it is. @default - per message, from the
   * function that gave it up (`roleOfFunction`): local mode's processors share one queue
   */
  readonly role?: ProcessorRole;
}

export interface QueueRepairOptions extends Omit<RepairOptions, 'role'> {
  /** The role of a processor, from its function ARN (for queues without a `role`). */
  readonly roleOfFunction?: (functionArn: string | undefined) => ProcessorRole;
  /** Messages taken from each queue per run. @default 100 */
  readonly maxMessages?: number;
}

export interface QueueRepairReport {
  /** On-failure messages received. */
  readonly received: number;
  /** Batches repaired (their messages deleted), and their records. */
  readonly repaired: number;
  readonly records: number;
  /** Batches whose repair failed this run (their messages come back). */
  readonly failed: number;
  /** Batches whose records are no longer in the stream, and messages that are no on-failure document. */
  readonly expired: number;
  readonly unreadable: number;
  readonly itemsWritten: number;
  readonly recordsRestored: number;
  readonly conflicts: number;
  readonly undecidable: readonly string[];
  readonly alertsPublished: number;
  /** The first failure, for the log. */
  readonly firstError?: Error;
}

type Totals = { -readonly [K in keyof QueueRepairReport]: QueueRepairReport[K] } & { undecidable: string[] };

function emptyTotals(): Totals {
  return {
    received: 0,
    repaired: 0,
    records: 0,
    failed: 0,
    expired: 0,
    unreadable: 0,
    itemsWritten: 0,
    recordsRestored: 0,
    conflicts: 0,
    undecidable: [],
    alertsPublished: 0,
  };
}

function add(totals: Totals, report: RepairReport): void {
  for (const b of report.batches) {
    if (b.status === 'repaired') {
      totals.repaired += 1;
      totals.records += b.records;
    } else if (b.status === 'expired') totals.expired += 1;
    else {
      totals.failed += 1;
      totals.firstError ??= b.error;
    }
  }
  totals.itemsWritten += report.itemsWritten;
  totals.recordsRestored += report.recordsRestored;
  totals.conflicts += report.conflicts;
  totals.undecidable.push(...report.undecidable);
  totals.alertsPublished += report.alertsPublished;
}

export async function repairFromQueues(
  queues: readonly RepairQueue[],
  ports: RepairPorts,
  options: QueueRepairOptions,
): Promise<QueueRepairReport> {
  const totals = emptyTotals();
  for (const { queue, role } of queues) {
    const messages = await queue.receive(options.maxMessages ?? 100);
    totals.received += messages.length;
    const byRole = new Map<ProcessorRole, OnFailureMessage[]>();
    for (const message of messages) {
      if (!message.batch) {
        totals.unreadable += 1;
        continue;
      }
      const r = role ?? options.roleOfFunction?.(message.functionArn) ?? 'all';
      byRole.set(r, [...(byRole.get(r) ?? []), message]);
    }
    for (const [r, group] of byRole) {
      let report: RepairReport;
      try {
        report = await repairBatches(
          group.map((m) => m.batch!),
          ports,
          { ...options, role: r },
        );
      } catch (error) {
        // E.g. DynamoDB still down: nothing of the group is durable; the next run takes it again.
        await queue.release(group);
        totals.failed += group.length;
        totals.firstError ??= error as Error;
        continue;
      }
      const done = group.filter((_, i) => report.batches[i].status === 'repaired');
      // Deleted only now: every write of the repair has been acknowledged. The rest is handed on
      // to the next run at once (a crash instead leaves them hidden for the visibility timeout).
      await queue.delete(done);
      await queue.release(group.filter((_, i) => report.batches[i].status !== 'repaired'));
      add(totals, report);
    }
  }
  return totals;
}

/**
 * Repairs batches named by hand (a shard and a sequence range, e.g. from a message already deleted)
 * in each of `roles`, the roles of the processors that read them. Nothing is received or deleted.
 */
export async function repairGivenBatches(
  batches: readonly GivenUpBatch[],
  roles: readonly ProcessorRole[],
  ports: RepairPorts,
  options: Omit<RepairOptions, 'role'>,
): Promise<QueueRepairReport> {
  const totals = emptyTotals();
  for (const role of roles) add(totals, await repairBatches(batches, ports, { ...options, role }));
  return totals;
}
