/**
 * The partition key prefixes of the speed layer's table: one home for the alert store, which writes
 * alert items under it, and the CDK construct, which restricts the alert processor to those items
 * (IAM condition `dynamodb:LeadingKeys`).
 */

/** Alert state items: `pk` is `ALERT#<sensorId>` (one item per sensor and rule, `sk` `RULE#<ruleId>`). */
export const ALERT_KEY_PREFIX = 'ALERT#';
