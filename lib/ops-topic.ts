import { ArnFormat, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { EncryptedTopic } from './encrypted-topic';

export interface OpsTopicProps {
  /**
   * Customer-managed key that encrypts notifications at rest; its policy must be editable by this
   * stack (see `EncryptedTopicProps.encryptionKey`).
   * @default - a new key with automatic rotation
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Where operators hear about the pipeline itself: CloudWatch alarms and batch-job failures.
 * KMS-encrypted and TLS-only like the alerts topic, and kept separate from it so pipeline noise
 * never reaches alert consumers. CloudWatch alarms of this account may publish to it out of the box
 * (topic policy plus key policy); other services are added with `allowServiceToPublish`.
 */
export class OpsTopic extends EncryptedTopic {
  constructor(scope: Construct, id: string, props: OpsTopicProps = {}) {
    super(scope, id, { displayName: 'Sluice operations', encryptionKey: props.encryptionKey });
    const stack = Stack.of(this);
    this.allowServiceToPublish(
      'cloudwatch.amazonaws.com',
      stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
  }
}
