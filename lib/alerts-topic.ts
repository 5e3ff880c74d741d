import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { EncryptedTopic } from './encrypted-topic';

/**
 * Message attributes every alert carries, so subscribers can filter (`ruleId`, `severity`,
 * `sensorId`, `metric`). The stream processor sets them; subscription filter policies use them.
 */
export const ALERT_MESSAGE_ATTRIBUTES = ['ruleId', 'severity', 'sensorId', 'metric'] as const;

export interface AlertsTopicProps {
  /**
   * Customer-managed key that encrypts alerts at rest; see `EncryptedTopicProps.encryptionKey`.
   * @default - a new key with automatic rotation
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Where the speed layer publishes alerts for users: KMS-encrypted, TLS-only. Consumers subscribe
 * with filter policies on the alert message attributes.
 */
export class AlertsTopic extends EncryptedTopic {
  constructor(scope: Construct, id: string, props: AlertsTopicProps = {}) {
    super(scope, id, { displayName: 'Sluice alerts', encryptionKey: props.encryptionKey });
  }
}
