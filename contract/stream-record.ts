/**
 * A record as a producer puts it on the ingest stream: its bytes and its partition key (the
 * `sensorId` for a valid event, DESIGN.md "Event contract"). The CLI's record writer sends these;
 * the local runtime's event files and demo producer make them.
 */
export interface OutgoingRecord {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  /** Picks the shard instead of the partition key's hash (a decimal of up to 2^128 - 1). */
  readonly explicitHashKey?: string;
}
