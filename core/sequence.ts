/**
 * Kinesis sequence numbers are decimal strings of up to 129 digits, too long for DynamoDB numbers.
 * Left-padded to a fixed width they compare correctly as strings, in code and in DynamoDB conditions.
 */
export const SEQUENCE_WIDTH = 130;

const DIGITS = /^\d{1,130}$/;

export function padSequence(sequenceNumber: string): string {
  if (!DIGITS.test(sequenceNumber)) {
    throw new RangeError(`Not a Kinesis sequence number: ${JSON.stringify(sequenceNumber)}`);
  }
  return sequenceNumber.padStart(SEQUENCE_WIDTH, '0');
}

/** Compares two (unpadded, no leading zeros) sequence numbers numerically without padding them. */
export function compareSequences(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A lane is the unit whose records Lambda delivers in order, never concurrently, and exactly-once
 * marks are kept per lane. With a parallelization factor of 1 that is the shard: one mark per shard,
 * however many partition keys a producer uses. Above 1 a shard has several batches in flight, in
 * order only per partition key, so the lane is one partition key of one shard.
 */
export function laneId(shardId: string, partitionKey: string, parallelizationFactor: number): string {
  return lanesPerPartitionKey(parallelizationFactor) ? `${shardId}/${fnv1a32(partitionKey)}` : shardId;
}

/** Whether a shard's lanes are its partition keys (see `laneId`); otherwise the lane is the shard. */
export function lanesPerPartitionKey(parallelizationFactor: number): boolean {
  return parallelizationFactor > 1;
}

/** FNV-1a, 32 bit, over UTF-16 code units, as an unsigned integer: a short stable fingerprint (not a security hash). */
export function fnv1a32Value(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** `fnv1a32Value` as 8 hex digits. */
export function fnv1a32(text: string): string {
  return fnv1a32Value(text).toString(16).padStart(8, '0');
}
