import type { OnFailureMessage } from '../../../lambdas/adapters/on-failure-queue';
import type { RepairPorts } from '../../../lambdas/speed-repair/repair-batches';
import { repairFromQueues } from '../../../lambdas/speed-repair/repair-queues';
import type { SpeedConfig } from '../../../core/speed-config';
import { inMemoryPorts } from '../../helpers/batch-ports';
import { kinesisRecord, sensorEvent } from '../../helpers/factories';

const NOW = Date.parse('2026-11-21T10:30:00Z');
const CONFIG: SpeedConfig = {
  windows: [{ name: '1m', sizeMs: 60_000, hopMs: 60_000 }],
  alertRules: [],
  latenessMs: 86_400_000,
  maxClockSkewMs: 300_000,
  aggregateTtlMs: 604_800_000,
  parallelizationFactor: 1,
};

function message(shardId: string, body?: string): OnFailureMessage {
  const batch = {
    shardId,
    startSequenceNumber: '1',
    endSequenceNumber: '2',
    approximateArrivalOfFirstRecord: '',
    approximateArrivalOfLastRecord: '',
    batchSize: 1,
    streamArn: 'arn',
  };
  return body === undefined
    ? { receiptHandle: shardId, body: JSON.stringify({ KinesisBatchInfo: batch }), batch }
    : { receiptHandle: shardId, body };
}

/** A queue holding `messages`, recording what the run deletes and releases. */
function fakeQueue(messages: OnFailureMessage[]) {
  const deleted: string[] = [];
  const released: string[] = [];
  return {
    deleted,
    released,
    queue: {
      queueUrl: 'https://sqs.local/dlq',
      receive: () => Promise.resolve(messages),
      delete: (done: readonly { receiptHandle: string }[]) => {
        deleted.push(...done.map((m) => m.receiptHandle));
        return Promise.resolve();
      },
      release: (back: readonly { receiptHandle: string }[]) => {
        released.push(...back.map((m) => m.receiptHandle));
        return Promise.resolve();
      },
    },
  };
}

/** Ports whose stream holds one valid record on `ok`, nothing on `gone`, and fails on `broken`. */
function ports(): RepairPorts {
  const record = kinesisRecord({
    data: sensorEvent({ timestamp: NOW - 1000 }),
    shardId: 'ok',
    arrivalMs: NOW - 500,
  });
  return {
    stream: {
      readRange: (shardId: string) =>
        shardId === 'broken'
          ? Promise.reject(new Error('shard unreadable'))
          : Promise.resolve(shardId === 'ok' ? [record] : []),
      scanFrom: () => ({ shardId: '', readThrough: () => Promise.resolve() }),
    },
    aggregates: {
      read: () => Promise.reject(new Error('not read in role alerts')),
      replace: () => Promise.reject(new Error('not written')),
    },
    batch: inMemoryPorts().ports,
  };
}

describe('repairFromQueues', () => {
  test('deletes only repaired batches, hands failed and expired ones back, counts what is no document', async () => {
    const { queue, deleted, released } = fakeQueue([
      message('ok'),
      message('gone'),
      message('broken'),
      message('junk', 'not an on-failure document'),
    ]);

    const report = await repairFromQueues([{ queue, role: 'alerts' }], ports(), {
      config: CONFIG,
      nowMs: NOW,
    });

    expect(deleted).toEqual(['ok']);
    expect(released.sort()).toEqual(['broken', 'gone']);
    expect(report).toMatchObject({
      received: 4,
      repaired: 1,
      records: 1,
      expired: 1,
      failed: 1,
      unreadable: 1,
    });
    expect(report.firstError?.message).toBe('shard unreadable');
  });

  test('a run whose repair throws deletes nothing and hands every message back', async () => {
    const { queue, deleted, released } = fakeQueue([message('ok')]);
    const failing = {
      ...ports(),
      aggregates: {
        read: () => Promise.reject(new Error('DynamoDB is down')),
        replace: () => Promise.reject(new Error('x')),
      },
    };

    const report = await repairFromQueues([{ queue, role: 'aggregates' }], failing, {
      config: CONFIG,
      nowMs: NOW,
    });

    expect([deleted, released]).toEqual([[], ['ok']]);
    expect(report).toMatchObject({ repaired: 0, failed: 1 });
    expect(report.firstError?.message).toBe('DynamoDB is down');
  });
});
