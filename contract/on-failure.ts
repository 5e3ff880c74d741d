/**
 * The document Lambda sends to a Kinesis event source's on-failure destination (an SQS queue here),
 * as the local event source runner sends it too: which records a stream processor gave up on. The
 * speed-layer repair (lambdas/speed-repair/) reads it back.
 */
export interface KinesisOnFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    readonly approximateInvokeCount: number;
  };
  /** Present when the records were invoked at least once: how the last invocation ended. */
  readonly responseContext?: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly KinesisBatchInfo: KinesisBatchInfo;
}

/** The given-up batch: one shard's records from the first to the last sequence number. */
export interface KinesisBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly approximateArrivalOfFirstRecord: string;
  readonly approximateArrivalOfLastRecord: string;
  readonly batchSize: number;
  readonly streamArn: string;
}

/** The batch info of an on-failure message body, or undefined when the body is not one. */
export function parseOnFailureBody(body: string): KinesisBatchInfo | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const info = (parsed as { KinesisBatchInfo?: Partial<KinesisBatchInfo> } | null)?.KinesisBatchInfo;
  const digits = /^\d{1,130}$/;
  if (
    typeof info?.shardId !== 'string' ||
    typeof info.startSequenceNumber !== 'string' ||
    typeof info.endSequenceNumber !== 'string' ||
    !digits.test(info.startSequenceNumber) ||
    !digits.test(info.endSequenceNumber)
  )
    return undefined;
  return info as KinesisBatchInfo;
}

/** The speed-repair function's variable naming its on-failure queues: JSON `[{"url", "role"}, ...]`. */
export const REPAIR_QUEUES_ENV = 'SLUICE_REPAIR_QUEUES';
