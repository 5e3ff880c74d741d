/**
 * DynamoDB adapter for alert state, one item per (sensor, rule): the event times of the alerts
 * raised so far (for the cooldown) and an outbox of alerts recorded but not yet published.
 *
 * Recording and publishing are two steps; the outbox makes the pair safe: an alert is first written
 * to `pending` together with its time (one conditional write), then published, then removed from
 * `pending`. A failure in between leaves it in `pending`, and the retry of the same records finds
 * and publishes it. An alert is therefore never lost; it may be published twice only if a crash
 * falls between publishing and clearing, and its deterministic `alertId` lets consumers drop that.
 *
 * Size (contract/storage-limits.ts): the outbox holds at most MAX_PENDING_ALERTS alerts, because a call
 * records at most that many breaches per group (the caller runs larger groups in rounds) and only
 * into an empty outbox: alerts left by an earlier failure are handed back to be published and
 * cleared first (`outboxBacklog`). Clearing removes at most that many map entries per UpdateItem,
 * well under the 4 KB expression limit. The `times` list holds what the cooldown still needs, at
 * most MAX_ALERT_TIMES entries for any rule the config accepts.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { applyCooldown, pruneAlertTimes, type Alert, type Breach } from '../../core/alerts';
import { MAX_ALERT_TIMES, MAX_PENDING_ALERTS } from '../../contract/storage-limits';
import { ALERT_KEY_PREFIX } from '../../contract/table-keys';
import type { AlertRule } from '../../core/speed-config';
import { batchGetAll } from './batch-get';
import { mapWithConcurrency } from './concurrency';

export interface AlertGroup {
  readonly sensorId: string;
  readonly rule: AlertRule;
  /** In processing order; at most MAX_PENDING_ALERTS (`record` refuses more). */
  readonly breaches: readonly Breach[];
}

interface AlertState {
  readonly times: number[];
  readonly pending: Alert[];
  readonly version: number;
}

export interface GroupOutcome {
  readonly group: AlertGroup;
  /** Alerts to publish now, then `clearPending`: the new ones, or those an earlier failure left. */
  readonly toPublish: readonly Alert[];
  /**
   * True when the outbox held alerts of an earlier failure: `toPublish` is those, and the group's
   * breaches were NOT applied yet; publish and clear them, then record the group again.
   */
  readonly outboxBacklog?: boolean;
  readonly error?: Error;
}

/** A group handed to `record` with more breaches than one outbox write may take. */
export class AlertGroupTooLargeError extends Error {
  public override readonly name = 'AlertGroupTooLargeError';
}

export interface AlertStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Seconds an alert item lives after its last change. */
  readonly ttlSeconds: number;
  /** @default 8 */
  readonly concurrency?: number;
}

export function alertStateKey(sensorId: string, ruleId: string): Record<string, AttributeValue> {
  return { pk: { S: `${ALERT_KEY_PREFIX}${sensorId}` }, sk: { S: `RULE#${ruleId}` } };
}

function parseState(item: Record<string, AttributeValue> | undefined): AlertState {
  if (!item) return { times: [], pending: [], version: 0 };
  return {
    times: (item.times?.L ?? []).map((v) => Number(v.N)),
    pending: Object.values(item.pending?.M ?? {}).map((v) => JSON.parse(v.S as string) as Alert),
    version: Number(item.version?.N ?? 0),
  };
}

/**
 * The alert times to store: all of them, up to MAX_ALERT_TIMES. The config keeps every rule under
 * that bound while processing clocks move forward; should a clock step back and the list overflow,
 * the oldest times go (the ones least likely to meet a new breach): at worst an extra alert, never
 * a lost one or an item DynamoDB rejects.
 */
function newestTimes(sortedTimes: number[]): number[] {
  return sortedTimes.length > MAX_ALERT_TIMES ? sortedTimes.slice(-MAX_ALERT_TIMES) : sortedTimes;
}

export class AlertStore {
  constructor(private readonly options: AlertStoreOptions) {}

  /**
   * Applies the cooldown to each group's breaches against its stored alert times and records the
   * new alerts in the outbox, or hands back the alerts an earlier failure left there
   * (`outboxBacklog`). `oldestPossibleBreach` bounds the stored history (see pruneAlertTimes).
   */
  async record(
    groups: readonly AlertGroup[],
    oldestPossibleBreach: number,
    nowMs: number,
  ): Promise<GroupOutcome[]> {
    if (groups.length === 0) return [];
    let states: Map<string, Record<string, AttributeValue>>;
    try {
      states = await this.readMany(groups);
    } catch (error) {
      return groups.map((group) => ({ group, toPublish: [], error: error as Error }));
    }
    return mapWithConcurrency(groups, this.options.concurrency ?? 8, (group) =>
      this.recordGroup(
        group,
        parseState(states.get(`${group.sensorId}|${group.rule.id}`)),
        oldestPossibleBreach,
        nowMs,
      ),
    );
  }

  private async recordGroup(
    group: AlertGroup,
    initial: AlertState,
    oldestPossibleBreach: number,
    nowMs: number,
  ): Promise<GroupOutcome> {
    if (group.breaches.length > MAX_PENDING_ALERTS) {
      const message = `${group.breaches.length} breaches of ${group.sensorId}/${group.rule.id} in one call; record takes at most ${MAX_PENDING_ALERTS} (run the group in rounds)`;
      return { group, toPublish: [], error: new AlertGroupTooLargeError(message) };
    }
    let state = initial;
    for (let attempt = 0; ; attempt++) {
      // Alerts an earlier failure left go out before any new one is recorded, so the outbox never
      // holds more than one call's alerts.
      if (state.pending.length > 0) return { group, toPublish: state.pending, outboxBacklog: true };
      const times = pruneAlertTimes(state.times, oldestPossibleBreach, group.rule.cooldownMs);
      const { alerts, alertTimes } = applyCooldown(times, group.breaches, group.rule.cooldownMs);
      if (alerts.length === 0) return { group, toPublish: [] };
      try {
        await this.write(group, newestTimes(alertTimes), alerts, state.version, nowMs);
        return { group, toPublish: alerts };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= 5)
          return { group, toPublish: [], error: error as Error };
        try {
          state = await this.readOne(group);
        } catch (readError) {
          return { group, toPublish: [], error: readError as Error };
        }
      }
    }
  }

  /**
   * Removes published alerts from the outbox, MAX_PENDING_ALERTS map entries per UpdateItem (an
   * outbox written before that bound may hold more).
   */
  async clearPending(group: AlertGroup, published: readonly Alert[]): Promise<void> {
    for (let start = 0; start < published.length; start += MAX_PENDING_ALERTS) {
      const names: Record<string, string> = { '#pending': 'pending' };
      const removals = published.slice(start, start + MAX_PENDING_ALERTS).map((alert, i) => {
        names[`#a${i}`] = alert.alertId;
        return `#pending.#a${i}`;
      });
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: alertStateKey(group.sensorId, group.rule.id),
          UpdateExpression: `REMOVE ${removals.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
        }),
      );
    }
  }

  private async write(
    group: AlertGroup,
    times: number[],
    pending: Alert[],
    expectedVersion: number,
    nowMs: number,
  ): Promise<void> {
    const pendingMap: Record<string, AttributeValue> = {};
    for (const alert of pending) pendingMap[alert.alertId] = { S: JSON.stringify(alert) };
    await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: alertStateKey(group.sensorId, group.rule.id),
        UpdateExpression:
          'SET sensorId = :sensorId, ruleId = :ruleId, times = :times, pending = :pending, version = :version, expiresAt = :expiresAt',
        ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :expected',
        ExpressionAttributeValues: {
          ':sensorId': { S: group.sensorId },
          ':ruleId': { S: group.rule.id },
          ':times': { L: times.map((t) => ({ N: String(t) })) },
          ':pending': { M: pendingMap },
          ':version': { N: String(expectedVersion + 1) },
          ':expiresAt': { N: String(Math.floor(nowMs / 1000) + this.options.ttlSeconds) },
          ...(expectedVersion === 0 ? {} : { ':expected': { N: String(expectedVersion) } }),
        },
      }),
    );
  }

  private async readOne(group: AlertGroup): Promise<AlertState> {
    const result = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: alertStateKey(group.sensorId, group.rule.id),
        ConsistentRead: true,
      }),
    );
    return parseState(result.Item);
  }

  private async readMany(
    groups: readonly AlertGroup[],
  ): Promise<Map<string, Record<string, AttributeValue>>> {
    const keys = groups.map((g) => alertStateKey(g.sensorId, g.rule.id));
    const items = await batchGetAll(this.options.client, this.options.tableName, keys);
    return new Map(items.map((item) => [`${item.sensorId.S}|${item.ruleId.S}`, item]));
  }
}
