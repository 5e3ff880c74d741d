/**
 * A stream processor's on-failure queue (SQS) as the speed-layer repair uses it: receive the
 * given-up batches' documents, and delete a message only once its repair is durable. A received
 * message stays invisible for `visibilityTimeoutSeconds`; one the repair does not delete comes back
 * after that, for the next run.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  parseOnFailureBody,
  type KinesisOnFailureRecord,
  type KinesisBatchInfo,
} from '../../contract/on-failure';

export interface OnFailureMessage {
  readonly receiptHandle: string;
  readonly body: string;
  /** The given-up batch, or undefined when the body is not an on-failure document. */
  readonly batch?: KinesisBatchInfo;
  /** The function that gave it up (`requestContext.functionArn`), when the body says. */
  readonly functionArn?: string;
}

export interface OnFailureQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** How long received messages stay invisible to other readers. @default 900 (15 minutes) */
  readonly visibilityTimeoutSeconds?: number;
}

/** SQS returns at most 10 messages a call and deletes at most 10 a call. */
const SQS_BATCH = 10;
/** Long enough to list a queue of `max` messages before the first listed comes back. */
const PEEK_VISIBILITY_SECONDS = 30;

export class OnFailureQueue {
  constructor(private readonly options: OnFailureQueueOptions) {}

  get queueUrl(): string {
    return this.options.queueUrl;
  }

  /** Up to `max` messages (fewer when the queue has fewer visible), each received once. */
  async receive(max: number, visibilityTimeoutSeconds?: number): Promise<OnFailureMessage[]> {
    const byId = new Map<string, OnFailureMessage>();
    while (byId.size < max) {
      const { Messages = [] } = await this.options.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: Math.min(SQS_BATCH, max - byId.size),
          VisibilityTimeout: visibilityTimeoutSeconds ?? this.options.visibilityTimeoutSeconds ?? 900,
          WaitTimeSeconds: 0,
        }),
      );
      // With a visibility timeout of 0 (tests) SQS hands the same messages back: take each once,
      // with its latest receipt handle (SQS deletes a message received again only by that one).
      const fresh = Messages.filter((m) => !byId.has(m.MessageId as string));
      for (const m of Messages) byId.set(m.MessageId as string, toMessage(m));
      if (fresh.length === 0) break;
    }
    return [...byId.values()];
  }

  /**
   * Up to `max` messages without taking them: received, then released at once (`release`), so a
   * repair running next sees them all. For a listing.
   */
  async peek(max: number): Promise<OnFailureMessage[]> {
    const messages = await this.receive(max, PEEK_VISIBILITY_SECONDS);
    await this.release(messages);
    return messages;
  }

  /** Makes received messages visible again now (a run that could not repair them hands them on). */
  async release(messages: readonly Pick<OnFailureMessage, 'receiptHandle'>[]): Promise<void> {
    for (let i = 0; i < messages.length; i += SQS_BATCH) {
      const chunk = messages.slice(i, i + SQS_BATCH);
      await this.options.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map((m, j) => ({
            Id: String(j),
            ReceiptHandle: m.receiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }

  /** Deletes the messages; throws if SQS could not delete one of them. */
  async delete(messages: readonly Pick<OnFailureMessage, 'receiptHandle'>[]): Promise<void> {
    for (let i = 0; i < messages.length; i += SQS_BATCH) {
      const chunk = messages.slice(i, i + SQS_BATCH);
      const result = await this.options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.receiptHandle })),
        }),
      );
      if (result.Failed && result.Failed.length > 0)
        throw new Error(
          `SQS did not delete ${result.Failed.length} on-failure message(s) of ${this.options.queueUrl}: ${result.Failed[0].Message ?? result.Failed[0].Code}`,
        );
    }
  }
}

function toMessage(message: Message): OnFailureMessage {
  const body = message.Body ?? '';
  const batch = parseOnFailureBody(body);
  let functionArn: string | undefined;
  if (batch) {
    const context = (JSON.parse(body) as Partial<KinesisOnFailureRecord>).requestContext;
    if (typeof context?.functionArn === 'string') functionArn = context.functionArn;
  }
  return { receiptHandle: message.ReceiptHandle as string, body, batch, functionArn };
}
