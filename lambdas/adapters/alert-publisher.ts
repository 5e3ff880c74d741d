/** Publishes alerts to the SNS alerts topic, with attributes subscribers can filter on. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alert } from '../../core/alerts';

/** The JSON body of an alert message on the alerts topic. */
export interface AlertMessage {
  readonly alertId: string;
  readonly ruleId: string;
  readonly sensorId: string;
  readonly metric: string;
  readonly severity: string;
  readonly value: number;
  readonly threshold: number;
  readonly op: string;
  /** ISO-8601 UTC. */
  readonly eventTime: string;
  /** `"value"` or the window name. */
  readonly source: string;
  readonly aggregate: string;
  readonly eventId?: string;
  readonly windowStart?: string;
}

export function toAlertMessage(alert: Alert): AlertMessage {
  return {
    alertId: alert.alertId,
    ruleId: alert.ruleId,
    sensorId: alert.sensorId,
    metric: alert.metric,
    severity: alert.severity,
    value: alert.value,
    threshold: alert.threshold,
    op: alert.op,
    eventTime: new Date(alert.eventTime).toISOString(),
    source: alert.source,
    aggregate: alert.aggregate,
    ...(alert.eventId === undefined ? {} : { eventId: alert.eventId }),
    ...(alert.windowStart === undefined ? {} : { windowStart: new Date(alert.windowStart).toISOString() }),
  };
}

export class AlertPublisher {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(alert: Alert): Promise<void> {
    const message = toAlertMessage(alert);
    const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: `[${alert.severity}] ${alert.ruleId} on ${alert.sensorId}`.slice(0, 99),
        Message: JSON.stringify(message),
        MessageAttributes: {
          alertId: attribute(alert.alertId),
          ruleId: attribute(alert.ruleId),
          severity: attribute(alert.severity),
          sensorId: attribute(alert.sensorId),
          metric: attribute(alert.metric),
        },
      }),
    );
  }
}
