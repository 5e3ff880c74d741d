/**
 * Reads the alerts the speed layer publishes, the way a subscriber would: from the SQS queue
 * subscribed to the alerts topic (local/resources.ts). SNS delivers at least once, so alerts are
 * deduplicated by `alertId`.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { AlertMessage } from '../lambdas/adapters/alert-publisher';

export interface ReceivedAlert extends AlertMessage {
  /** ISO-8601 time the alert was read from the queue. */
  readonly receivedAt: string;
}

export interface AlertCollectorOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Long-poll wait of the background loop, seconds (0–20). @default 1 */
  readonly waitSeconds?: number;
  /** Told about messages that are not alerts and about receive errors. */
  readonly onError?: (error: unknown) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Parses an SQS message body: an SNS notification envelope around an `AlertMessage`. */
export function parseAlertNotification(body: string): AlertMessage {
  const envelope = JSON.parse(body) as { Type?: string; Message?: string };
  const message: unknown = JSON.parse(
    envelope.Type === 'Notification' && envelope.Message ? envelope.Message : body,
  );
  const alert = message as Partial<AlertMessage>;
  if (
    typeof alert.alertId !== 'string' ||
    typeof alert.ruleId !== 'string' ||
    typeof alert.sensorId !== 'string'
  ) {
    throw new Error(`not an alert message: ${body.slice(0, 200)}`);
  }
  return alert as AlertMessage;
}

export class AlertCollector {
  private readonly alerts = new Map<string, ReceivedAlert>();
  private running = false;
  private loop: Promise<void> | undefined;
  /** The background loop's receive in progress, if any. */
  private current: Promise<unknown> = Promise.resolve();
  private draining = 0;
  private readonly now: () => number;

  constructor(private readonly options: AlertCollectorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Distinct alerts received so far, in order of arrival. */
  get received(): ReceivedAlert[] {
    return [...this.alerts.values()];
  }

  get count(): number {
    return this.alerts.size;
  }

  /** The `n` most recently received alerts, newest first. */
  recent(n: number): ReceivedAlert[] {
    return this.received.slice(-n).reverse();
  }

  /** Polls the queue in the background until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          if (this.draining > 0) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            continue;
          }
          this.current = this.receiveOnce(this.options.waitSeconds ?? 1);
          await this.current;
        } catch (error) {
          this.options.onError?.(error);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Reads until the queue is empty twice in a row; every alert published before the call is then received. */
  async drain(): Promise<void> {
    this.draining++;
    try {
      // A background receive may hold messages that are not in the map yet.
      await this.current.catch(() => undefined);
      let empty = 0;
      while (empty < 2) empty = (await this.receiveOnce(0)) === 0 ? empty + 1 : 0;
    } finally {
      this.draining--;
    }
  }

  /** One ReceiveMessage (and the deletes); returns how many messages it got. */
  private async receiveOnce(waitSeconds: number): Promise<number> {
    const { Messages = [] } = await this.options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
      }),
    );
    if (Messages.length === 0) return 0;
    const receivedAt = new Date(this.now()).toISOString();
    for (const message of Messages) {
      try {
        const alert = parseAlertNotification(message.Body ?? '');
        if (!this.alerts.has(alert.alertId)) this.alerts.set(alert.alertId, { ...alert, receivedAt });
      } catch (error) {
        this.options.onError?.(error);
      }
    }
    await this.options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.options.queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    return Messages.length;
  }
}
