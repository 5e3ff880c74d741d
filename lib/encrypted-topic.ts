import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface EncryptedTopicProps {
  /** Shown as the sender of email and SMS notifications. */
  readonly displayName: string;
  /**
   * Customer-managed key that encrypts messages at rest. It must be a key whose policy this stack
   * can edit (created in this app), because AWS services that publish to the topic need a key
   * policy statement. The AWS-managed `alias/aws/sns` key cannot be used for that reason.
   * @default - a new key with automatic rotation, deleted with the topic (messages are transient)
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * An SNS topic encrypted with a customer-managed KMS key, whose policy denies publishing and
 * subscribing without TLS (`enforceSSL`).
 */
export class EncryptedTopic extends Construct {
  public readonly topic: sns.ITopic;
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: EncryptedTopicProps) {
    super(scope, id);
    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: `Encrypts messages of the ${props.displayName} SNS topic`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: this.encryptionKey,
      enforceSSL: true,
    });
  }

  /**
   * Lets an AWS service publish to the topic on behalf of resources in this account that match
   * `sourceArnPattern` (e.g. CloudWatch alarms, EventBridge rules): a topic policy statement scoped
   * with `aws:SourceArn` / `aws:SourceAccount`, and a key policy statement so the service can use
   * the topic's key (without it, SNS rejects the message because the service may not encrypt it).
   */
  public allowServiceToPublish(servicePrincipal: string, sourceArnPattern: string): void {
    const account = Stack.of(this).account;
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `Allow${servicePrincipal.split('.')[0]}Publish`,
        principals: [new iam.ServicePrincipal(servicePrincipal)],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': sourceArnPattern },
          StringEquals: { 'aws:SourceAccount': account },
        },
      }),
    );
    const keyStatement = this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `Allow${servicePrincipal.split('.')[0]}UseOfTheKey`,
        principals: [new iam.ServicePrincipal(servicePrincipal)],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    if (!keyStatement.statementAdded) {
      throw new Error(
        `${this.node.path}: cannot let ${servicePrincipal} publish: the policy of key ${this.encryptionKey.node.path} ` +
          `is not managed by this stack; add kms:Decrypt and kms:GenerateDataKey* for ${servicePrincipal} to it, ` +
          'or let the topic create its own key',
      );
    }
  }
}
