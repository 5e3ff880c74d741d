// Work in progress: the stream processor handler is being written (issue 3).
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';

export async function handler(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> {
  return { batchItemFailures: event.Records.length < 0 ? [] : [] };
}
