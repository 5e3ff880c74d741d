/**
 * The DynamoDB bounds of contract/storage-limits.ts: their byte budgets against DynamoDB's limits, the
 * worst-case alert measured rather than assumed, the config's rejection of a cooldown one past its
 * bound, and a property over the config space driving the real cooldown code with the densest
 * breaches an accepted config lets through. DynamoDB Local writes the largest items in
 * test/integration/dynamodb-limits.ddb-local.test.ts.
 */
import type { UpdateItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { alertId, applyCooldown, pruneAlertTimes, type Alert, type Breach } from '../../../core/alerts';
import { formatDuration } from '../../../core/duration';
import {
  MAX_EPOCH_MS,
  MAX_EVENT_ID_LENGTH,
  MAX_METRIC_LENGTH,
  MAX_SENSOR_ID_LENGTH,
} from '../../../core/event';
import {
  DYNAMODB_MAX_EXPRESSION_BYTES,
  DYNAMODB_MAX_ITEM_BYTES,
  MAX_AGGREGATE_ITEM_BYTES,
  MAX_ALERT_ITEM_BYTES,
  MAX_ALERT_TIMES,
  MAX_NAME_LENGTH,
  MAX_PENDING_ALERT_BYTES,
  MAX_PENDING_ALERTS,
  minimumCooldownMs,
} from '../../../contract/storage-limits';
import { ConfigError, resolveConfig, toSpeedConfig } from '../../../contract/config';
import { AlertStore } from '../../../lambdas/adapters/alert-store';

const DAY = 86_400_000;

function rule(cooldown: string) {
  return {
    id: 'hot',
    metric: 'temperature',
    source: 'value',
    aggregate: 'value',
    op: '>',
    threshold: 28,
    cooldown,
    severity: 'warning',
  };
}

describe('byte budgets', () => {
  test('the largest alert and aggregate items stay under 400 KB', () => {
    expect(MAX_ALERT_ITEM_BYTES).toBeLessThan(DYNAMODB_MAX_ITEM_BYTES);
    expect(MAX_AGGREGATE_ITEM_BYTES).toBeLessThan(DYNAMODB_MAX_ITEM_BYTES);
  });

  test('the longest possible pending alert fits its budget', () => {
    const longest: Breach = {
      ruleId: 'r'.repeat(MAX_NAME_LENGTH),
      sensorId: 's'.repeat(MAX_SENSOR_ID_LENGTH),
      metric: 'm'.repeat(MAX_METRIC_LENGTH),
      severity: 'critical',
      value: -1.2345678901234567e-100,
      threshold: -1.2345678901234567e-100,
      op: '>=',
      eventTime: MAX_EPOCH_MS,
      source: 'w'.repeat(MAX_NAME_LENGTH),
      aggregate: 'count',
      eventId: '\u0001'.repeat(MAX_EVENT_ID_LENGTH),
      windowStart: MAX_EPOCH_MS,
    };
    const alert: Alert = { ...longest, alertId: alertId(longest) };

    const bytes = Buffer.byteLength(JSON.stringify(alert)) + Buffer.byteLength(alert.alertId);

    expect(bytes).toBeLessThanOrEqual(MAX_PENDING_ALERT_BYTES);
  });

  test('clearing 250 published alerts takes three UpdateItems, each expression under 4 KB', async () => {
    const sent: UpdateItemCommand[] = [];
    const client = { send: async (command: UpdateItemCommand) => void sent.push(command) };
    const store = new AlertStore({
      client: client as unknown as DynamoDBClient,
      tableName: 't',
      ttlSeconds: 60,
    });
    const published = Array.from({ length: 250 }, (_, i) => ({ alertId: `a${i}` }) as Alert);

    await store.clearPending({ sensorId: 's', rule: {} as never, breaches: [] }, published);

    expect(sent.map((c) => Object.keys(c.input.ExpressionAttributeNames ?? {}).length - 1)).toEqual([
      MAX_PENDING_ALERTS,
      MAX_PENDING_ALERTS,
      50,
    ]);
    for (const command of sent)
      expect(Buffer.byteLength(command.input.UpdateExpression ?? '')).toBeLessThan(
        DYNAMODB_MAX_EXPRESSION_BYTES,
      );
  });
});

describe('alert cooldown bound in config', () => {
  // Defaults: lateness 24h, longest window 1h, maxClockSkew 5m.
  const minimum = minimumCooldownMs({ latenessMs: DAY, maxWindowMs: 3_600_000, maxClockSkewMs: 300_000 });

  test('the shortest cooldown the bound allows is accepted', () => {
    expect(() => resolveConfig({ alertRules: [rule(`${minimum}ms`)] })).not.toThrow();
  });

  test('a cooldown one millisecond shorter is rejected with the field, the value and the minimum', () => {
    expect(() => resolveConfig({ alertRules: [rule(`${minimum - 1}ms`)] })).toThrow(
      `alertRules[0].cooldown: got "${minimum - 1}ms"; must be at least ${formatDuration(minimum)} with lateness "24h", the longest window "1h" and maxClockSkew "5m"`,
    );
  });

  test('a cooldown of 0 is rejected', () => {
    expect(() => resolveConfig({ alertRules: [rule('0s')] })).toThrow(/alertRules\[0\]\.cooldown: got "0s"/);
  });

  test('a 10 s cooldown is accepted with the default lateness (the issue-19 replay config)', () => {
    expect(() => resolveConfig({ alertRules: [rule('10s')] })).not.toThrow();
  });
});

/**
 * The densest history an accepted rule can build: at processing time `now`, breaches a cooldown
 * apart from the oldest time not yet late (now − lateness − longest window, a window rule's start)
 * up to the furthest allowed future (now + maxClockSkew); then, a fraction of a cooldown later,
 * the same again. Each step goes through the real pruneAlertTimes and applyCooldown.
 */
function densestHistory(
  config: ReturnType<typeof toSpeedConfig>,
  cooldownMs: number,
  shiftMs: number,
): number {
  const maxWindowMs = Math.max(...config.windows.map((w) => w.sizeMs));
  let times: number[] = [];
  let most = 0;
  for (const now of [1e13, 1e13 + shiftMs]) {
    const oldest = now - config.latenessMs - maxWindowMs;
    const breaches: Breach[] = [];
    // Newest first: applyCooldown then inserts each at the front, cheaply.
    for (let t = now + config.maxClockSkewMs; t >= oldest; t -= cooldownMs)
      breaches.push({ eventTime: t } as Breach);
    times = applyCooldown(pruneAlertTimes(times, oldest, cooldownMs), breaches, cooldownMs).alertTimes;
    most = Math.max(most, times.length);
  }
  return most;
}

describe('no accepted config lets an alert item hold more than MAX_ALERT_TIMES times', () => {
  const duration = (minMs: number, maxMs: number) =>
    fc.integer({ min: minMs / 1000, max: maxMs / 1000 }).map((s) => `${s}s`);

  test('property: accepted, or rejected on a cooldown', () => {
    fc.assert(
      fc.property(
        duration(60_000, 365 * DAY),
        duration(1_000, 7 * DAY),
        duration(0, DAY),
        fc.integer({ min: -3, max: 3 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (lateness, windowSize, maxClockSkew, offsetMs, shift) => {
          const spans = {
            latenessMs: Number(lateness.slice(0, -1)) * 1000,
            maxWindowMs: Number(windowSize.slice(0, -1)) * 1000,
            maxClockSkewMs: Number(maxClockSkew.slice(0, -1)) * 1000,
          };
          // Near the edge, where an off-by-one would show.
          const cooldownMs = Math.max(0, minimumCooldownMs(spans) + offsetMs);
          let config;
          try {
            config = toSpeedConfig(
              resolveConfig({
                lateness,
                maxClockSkew,
                aggregateTtl: '3650d',
                windows: [{ name: 'w', size: windowSize }],
                alertRules: [rule(`${cooldownMs}ms`)],
              }),
            );
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            expect((error as ConfigError).issues.every((i) => i.startsWith('alertRules[0].cooldown'))).toBe(
              true,
            );
            return;
          }
          expect(densestHistory(config, cooldownMs, Math.floor(shift * cooldownMs))).toBeLessThanOrEqual(
            MAX_ALERT_TIMES,
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});
