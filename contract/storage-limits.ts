/**
 * DynamoDB's limits, and the bounds that keep every speed-layer item and expression under them
 * whatever the traffic. Each bound is derived here once, with its arithmetic; the adapters enforce
 * them and `lib/config.ts` rejects the settings that could break them.
 *
 * DynamoDB's documented limits (developer guide, "Service, account, and table quotas"):
 *  - an item is at most 400 KB: attribute names plus values (a number takes about 1 byte per two
 *    significant digits plus 1; a list or map element 1 byte of overhead plus its value; 3 bytes per
 *    list or map);
 *  - an expression string (update, condition, projection) is at most 4 KB;
 *  - an UpdateExpression holds at most 300 operators or functions.
 * dynalite enforces none of these; DynamoDB Local and AWS enforce all of them.
 */
import { MAX_EVENT_ID_LENGTH, MAX_METRIC_LENGTH, MAX_SENSOR_ID_LENGTH } from '../core/event';
import { SEQUENCE_WIDTH } from '../core/sequence';

export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;
export const DYNAMODB_MAX_EXPRESSION_BYTES = 4 * 1024;

/** Config ids and names (rule ids, window names) are 1–64 characters of `[A-Za-z0-9._-]`. */
export const MAX_NAME_LENGTH = 64;

/**
 * The most alerts one write adds to an alert item's outbox, and so the most the outbox ever holds:
 * a group's breaches are recorded in rounds of at most this many (a round cannot raise more alerts
 * than it has breaches), and a round records into an empty outbox only (`AlertStore.record`).
 *
 * Clearing it is one `REMOVE #pending.#a0, …` of at most 100 paths: "#pending.#a99, " is 15 bytes,
 * so at most 1.5 KB of the 4 KB expression limit and 100 of the 300 operators.
 */
export const MAX_PENDING_ALERTS = 100;

/**
 * Bytes of one alert in the outbox, at most: its JSON (every string field at its maximum length; an
 * `eventId` of 128 control characters escapes to 6 bytes each, 768 bytes; numbers ≤ 24 characters)
 * plus its 32-character `alertId` map key. A unit test builds that worst-case alert and measures it.
 */
export const MAX_PENDING_ALERT_BYTES =
  6 * MAX_EVENT_ID_LENGTH + // eventId, fully escaped
  MAX_SENSOR_ID_LENGTH +
  MAX_METRIC_LENGTH +
  3 * MAX_NAME_LENGTH + // ruleId, source, severity (≤ 8) rounded up to a name
  4 * 24 + // value, threshold, eventTime, windowStart
  2 * 32 + // alertId in the JSON and as the map key
  320; // field names, quotes, op, aggregate and separators

/**
 * The most alert event times an alert item keeps (the cooldown's memory). Each is a number of at
 * most 16 digits: 9 bytes plus 1 of list overhead; 12 bytes is the budget.
 *
 * Stored times are pairwise at least `cooldown` apart and lie in (now − lateness − longest window −
 * cooldown, now + maxClockSkew] (older ones are pruned: `pruneAlertTimes`), so there are at most
 * `alertTimesBound` of them; `lib/config.ts` rejects a rule whose bound exceeds this.
 */
export const MAX_ALERT_TIMES = 10_000;
export const ALERT_TIME_BYTES = 12;

/** Keys, sensorId, ruleId, version, expiresAt and attribute names of an alert item, at most. */
const ALERT_ITEM_FIXED_BYTES = 1024;

/**
 * The largest alert item: 1 KB + 10,000 × 12 B + 100 × MAX_PENDING_ALERT_BYTES (≈ 1.6 KB)
 * ≈ 1 + 117 + 159 KB ≈ 277 KB, under 400 KB with a quarter to spare.
 */
export const MAX_ALERT_ITEM_BYTES =
  ALERT_ITEM_FIXED_BYTES + MAX_ALERT_TIMES * ALERT_TIME_BYTES + MAX_PENDING_ALERTS * MAX_PENDING_ALERT_BYTES;

/**
 * How many alert times a rule can have stored at once, for a cooldown and the spans that bound
 * where breaches can lie (see `MAX_ALERT_TIMES`): points pairwise `cooldown` apart in a half-open
 * span of (lateness + longest window + maxClockSkew + cooldown) number at most
 * floor((lateness + longest window + maxClockSkew) / cooldown) + 2. A cooldown of 0 bounds nothing.
 */
export function alertTimesBound(spans: {
  readonly latenessMs: number;
  readonly maxWindowMs: number;
  readonly maxClockSkewMs: number;
  readonly cooldownMs: number;
}): number {
  if (spans.cooldownMs <= 0) return Infinity;
  return Math.floor((spans.latenessMs + spans.maxWindowMs + spans.maxClockSkewMs) / spans.cooldownMs) + 2;
}

/** The smallest cooldown whose `alertTimesBound` is at most `MAX_ALERT_TIMES`, in ms. */
export function minimumCooldownMs(spans: {
  readonly latenessMs: number;
  readonly maxWindowMs: number;
  readonly maxClockSkewMs: number;
}): number {
  return (
    Math.floor((spans.latenessMs + spans.maxWindowMs + spans.maxClockSkewMs) / (MAX_ALERT_TIMES - 1)) + 1
  );
}

/**
 * The most lanes (exactly-once marks) an aggregate item holds. A mark is a lane id (a Kinesis shard
 * id, at most 128 characters by the API, plus "/" and an 8-digit hash above parallelization factor 1)
 * and a padded sequence number (130 characters) plus 3 bytes of overhead: 270 bytes. With 1 KB for
 * the rest of the item (keys of up to 197 + 89 characters, the statistics), 1 KB + 1,400 × 270 B
 * ≈ 370 KB, under 400 KB.
 *
 * Lanes grow with the shards and partition keys that deliver one window's records, not with
 * config: at parallelization factor 1 an item has one lane per shard its sensor's records came
 * through (new shards come only from resharding), and with the contract's partition key
 * (`sensorId`) the same holds above 1. Only a producer that spreads one sensor over more than 1,400
 * partition keys within one window's life reaches this; `AggregateStore` then fails those records
 * with `LaneLimitExceededError` instead of sending DynamoDB an item it rejects.
 */
export const MAX_LANES_PER_ITEM = 1_400;
export const MAX_LANE_ID_LENGTH = 128 + 9;
export const LANE_MARK_BYTES = MAX_LANE_ID_LENGTH + SEQUENCE_WIDTH + 3;
const AGGREGATE_ITEM_FIXED_BYTES = 1024;
export const MAX_AGGREGATE_ITEM_BYTES = AGGREGATE_ITEM_FIXED_BYTES + MAX_LANES_PER_ITEM * LANE_MARK_BYTES;

/**
 * The most panes one instance of a hopping window is composed of (`core/panes.ts`): composing an
 * instance reads its panes, and one BatchGetItem takes at most 100 keys. The pane is the gcd of
 * every hopping window's size and hop, so two hopping windows with unrelated hops can make it small:
 * `lib/config.ts` rejects a window whose size is more than this many panes.
 */
export const MAX_PANES_PER_WINDOW = 100;
