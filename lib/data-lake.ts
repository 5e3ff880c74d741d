import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG } from '../contract/config';
import { LAKE_PREFIXES } from '../contract/lake-layout';
import { checkInteger, SluicePropsError } from './validation';

export interface DataLakeProps {
  /**
   * Days before `raw/` objects move to S3 Standard-IA; at least 30 (S3's minimum for IA).
   * @default 30
   */
  readonly rawInfrequentAccessAfterDays?: number;
  /**
   * Days before `raw/` objects expire; must be later than `rawInfrequentAccessAfterDays`.
   * @default 365
   */
  readonly rawExpireAfterDays?: number;
  /**
   * Days before `quarantine/` and `raw-errors/` objects expire (both hold records that failed, kept
   * for inspection), 1 or more.
   * @default 90
   */
  readonly quarantineExpireAfterDays?: number;
  /**
   * Days before `athena-results/` objects expire, 1 or more.
   * @default 30
   */
  readonly athenaResultsExpireAfterDays?: number;
  /**
   * Days a replaced or deleted object version is kept, 1 or more. The batch job replaces curated
   * partitions on every run; older versions are a safety net against a bad run or a mistaken delete.
   * @default 30
   */
  readonly noncurrentVersionExpireAfterDays?: number;
  /**
   * Days server access logs are kept, 1 or more.
   * @default 90
   */
  readonly accessLogsExpireAfterDays?: number;
  /**
   * Customer-managed key for the lake's default encryption (SSE-KMS with S3 Bucket Keys, which cut
   * KMS requests). Whoever reads or writes the lake (Firehose, Athena, the batch job, the stream
   * processor) gets the key through the bucket's `grant*` methods.
   * @default - a new key with automatic rotation and the same removal policy as the bucket
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the lake (and its key, when the lake creates it) when it leaves the stack. The
   * lake holds the source of truth; losing it loses history.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The data lake: one bucket holding `raw/`, `raw-errors/`, `quarantine/`, `curated/` and
 * `athena-results/` (see `LAKE_PREFIXES`). KMS-encrypted, TLS 1.2+ only, public access blocked,
 * versioned, lifecycle-managed per prefix, with server access logs in a separate bucket.
 */
export class DataLake extends Construct {
  public readonly bucket: s3.IBucket;
  public readonly encryptionKey: kms.IKey;
  public readonly accessLogsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: DataLakeProps = {}) {
    super(scope, id);
    const defaults = DEFAULT_CONFIG.lake;
    const iaDays = props.rawInfrequentAccessAfterDays ?? defaults.rawInfrequentAccessAfterDays;
    const rawExpireDays = props.rawExpireAfterDays ?? defaults.rawExpireAfterDays;
    const quarantineDays = props.quarantineExpireAfterDays ?? defaults.quarantineExpireAfterDays;
    const athenaDays = props.athenaResultsExpireAfterDays ?? defaults.athenaResultsExpireAfterDays;
    const noncurrentDays = props.noncurrentVersionExpireAfterDays ?? 30;
    const accessLogDays = props.accessLogsExpireAfterDays ?? 90;
    checkInteger(this, 'rawInfrequentAccessAfterDays', iaDays, 30, 36_500);
    checkInteger(this, 'rawExpireAfterDays', rawExpireDays, 1, 36_500);
    if (!Token.isUnresolved(rawExpireDays) && !Token.isUnresolved(iaDays) && rawExpireDays <= iaDays) {
      throw new SluicePropsError(
        this,
        'rawExpireAfterDays',
        String(rawExpireDays),
        `must be greater than rawInfrequentAccessAfterDays (${iaDays})`,
      );
    }
    checkInteger(this, 'quarantineExpireAfterDays', quarantineDays, 1, 36_500);
    checkInteger(this, 'athenaResultsExpireAfterDays', athenaDays, 1, 36_500);
    checkInteger(this, 'noncurrentVersionExpireAfterDays', noncurrentDays, 1, 36_500);
    checkInteger(this, 'accessLogsExpireAfterDays', accessLogDays, 1, 36_500);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // Grant S3 log delivery through a bucket policy scoped to this lake (aws:SourceArn/SourceAccount)
    // instead of the legacy log-delivery ACL, which buckets with ACLs disabled reject.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // Server access logging can only deliver to SSE-S3 buckets, not SSE-KMS.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(accessLogDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the server access log target of the data lake; logging its own access would log every log delivery into itself.',
    });
    this.accessLogsBucket = accessLogs;

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: 'Encrypts the Sluice data lake (raw, quarantine, curated, Athena results)',
        enableKeyRotation: true,
        // Deleting the key while a retained bucket still holds data would make that data unreadable.
        removalPolicy,
      });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data-lake/',
      lifecycleRules: [
        {
          id: 'raw-to-ia-then-expire',
          prefix: LAKE_PREFIXES.raw,
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(iaDays) },
          ],
          expiration: Duration.days(rawExpireDays),
        },
        {
          id: 'expire-raw-errors',
          prefix: LAKE_PREFIXES.rawErrors,
          expiration: Duration.days(quarantineDays),
        },
        {
          id: 'expire-quarantine',
          prefix: LAKE_PREFIXES.quarantine,
          expiration: Duration.days(quarantineDays),
        },
        {
          id: 'expire-athena-results',
          prefix: LAKE_PREFIXES.athenaResults,
          expiration: Duration.days(athenaDays),
        },
        {
          id: 'expire-old-versions-and-uploads',
          noncurrentVersionExpiration: Duration.days(noncurrentDays),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });
  }
}
