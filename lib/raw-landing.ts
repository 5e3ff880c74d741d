import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG, durationMs } from '../contract/config';
import { dayPartition, hourPartition, LAKE_PREFIXES } from '../contract/lake-layout';
import { acknowledgeWildcards, wildcardResourceFinding } from './nag-acknowledgements';
import { checkDuration, checkInteger } from './validation';

/** The construct id of aws-cdk-lib's (stack-level) Firehose CIDR mapping. */
const FIREHOSE_CIDR_MAPPING_ID = '@aws-cdk--aws-kinesisfirehose.CidrBlocks'; // '/' becomes '--' in construct ids

/** The arrival partition in Firehose's own expression language: `dt=YYYY-MM-DD/hour=HH/`. */
const FIREHOSE_ARRIVAL_PARTITION = `${dayPartition('!{timestamp:yyyy-MM-dd}')}${hourPartition('!{timestamp:HH}')}`;

/**
 * Where Firehose writes, by arrival time (UTC): `raw/dt=YYYY-MM-DD/hour=HH/`. Firehose takes the
 * time from the oldest record of each object; `local/firehose.ts` does the same.
 */
export const RAW_DATA_PREFIX = `${LAKE_PREFIXES.raw}${FIREHOSE_ARRIVAL_PARTITION}`;

/** Where records Firehose could not deliver go, by failure type and time. */
export const RAW_ERROR_PREFIX = `${LAKE_PREFIXES.rawErrors}!{firehose:error-output-type}/${FIREHOSE_ARRIVAL_PARTITION}`;

export interface RawLandingProps {
  /** The ingest stream; Firehose is granted read access (and decrypt on its key). */
  readonly stream: kinesis.IStream;
  /**
   * The data lake bucket; Firehose is granted write access. When the bucket has a KMS key, objects
   * are written with SSE-KMS under that key.
   */
  readonly bucket: s3.IBucket;
  /**
   * How long Firehose buffers before writing an object, whole seconds, 0s–900s (config
   * `firehose.bufferInterval`).
   * @default Duration.seconds(60)
   */
  readonly bufferInterval?: Duration;
  /**
   * How much Firehose buffers before writing an object, 1–128 MiB (config `firehose.bufferSizeMiB`).
   * @default Size.mebibytes(64)
   */
  readonly bufferSize?: Size;
  /**
   * How long Firehose's delivery error logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Raw landing: a Firehose delivery stream that reads the ingest stream and writes every record,
 * valid or not, to the lake as gzip NDJSON (each record followed by a newline), partitioned by
 * arrival time under `raw/`, with failed deliveries under `raw-errors/` and delivery errors logged
 * to CloudWatch.
 *
 * Packed records (contract v1.1) land one event per line with nothing configured for them: Firehose
 * de-aggregates KPL records of a Kinesis stream source by itself, and the newline then follows each
 * user record; an NDJSON record keeps its lines, the newline after its last one (one that already
 * ends in a newline leaves an empty line, which holds no event). No RecordDeAggregation processor:
 * it needs dynamic partitioning (another prefix scheme and price) and sends a record with a
 * non-JSON line to `raw-errors/`, where the batch layer would not see its valid lines.
 */
export class RawLanding extends Construct {
  public readonly deliveryStream: firehose.IDeliveryStream;
  public readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: RawLandingProps) {
    super(scope, id);
    const bufferInterval =
      props.bufferInterval ?? Duration.millis(durationMs(DEFAULT_CONFIG.firehose.bufferInterval));
    const bufferSize = props.bufferSize ?? Size.mebibytes(DEFAULT_CONFIG.firehose.bufferSizeMiB);
    checkDuration(this, 'bufferInterval', bufferInterval, 0, 900, 'seconds');
    if (!bufferSize.isUnresolved()) checkInteger(this, 'bufferSize (MiB)', bufferSize.toMebibytes(), 1, 128);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const deliveryStream = new firehose.DeliveryStream(this, 'DeliveryStream', {
      source: new firehose.KinesisStreamSource(props.stream),
      destination: new firehose.S3Bucket(props.bucket, {
        dataOutputPrefix: RAW_DATA_PREFIX,
        errorOutputPrefix: RAW_ERROR_PREFIX,
        compression: firehose.Compression.GZIP,
        // Stated rather than left to Firehose's default, because the readers' globs depend on it.
        fileExtension: '.gz',
        bufferingInterval: bufferInterval,
        bufferingSize: bufferSize,
        encryptionKey: props.bucket.encryptionKey,
        loggingConfig: new firehose.EnableLogging(this.logGroup),
        processors: [new firehose.AppendDelimiterToRecordProcessor()],
      }),
    });
    this.deliveryStream = deliveryStream;
    this.acknowledgeFindings(deliveryStream, props.bucket);
    // The DeliveryStream L2 always adds a region -> Firehose CIDR mapping for `connections`, which only
    // VPC destinations (Redshift, Splunk, HTTP) use. Nothing here references it, and an unreferenced
    // mapping fails CloudFormation validation (W7001), so it is removed rather than acknowledged.
    Stack.of(this).node.tryRemoveChild(FIREHOSE_CIDR_MAPPING_ID);
  }

  private acknowledgeFindings(deliveryStream: firehose.DeliveryStream, bucket: s3.IBucket): void {
    Validations.of(deliveryStream).acknowledge({
      id: 'AwsSolutions-KDF1',
      reason:
        'Firehose offers server-side encryption only for Direct PUT sources; this one reads a KMS-encrypted Kinesis stream and writes SSE-KMS objects, so data is encrypted at rest on both sides.',
    });
    // The S3 destination's role: Bucket.grantReadWrite on the lake plus the key grants for SSE-KMS.
    const policy = deliveryStream.node
      .tryFindChild('S3 Destination Role')
      ?.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    acknowledgeWildcards(policy, {
      [wildcardResourceFinding(this, bucket.arnForObjects('*'))]:
        'Firehose writes generated object keys under raw/ and raw-errors/ (chosen at delivery time); the grant comes from the Firehose S3 destination.',
      'Action::s3:Abort*': 'From the S3 destination grant: Firehose aborts its own failed multipart uploads.',
      'Action::s3:DeleteObject*':
        'From the S3 destination grant (Bucket.grantReadWrite), on the lake bucket only.',
      'Action::s3:GetBucket*':
        'From the S3 destination grant: Firehose checks the bucket (location, encryption) before writing.',
      'Action::s3:GetObject*':
        'From the S3 destination grant (Bucket.grantReadWrite), on the lake bucket only.',
      'Action::s3:List*': 'From the S3 destination grant: Firehose lists multipart uploads of its objects.',
      'Action::kms:GenerateDataKey*':
        'Encrypting delivered objects with the lake key needs data keys, on that key only.',
      'Action::kms:ReEncrypt*':
        "From the S3 destination's encrypt grant on the lake key (CDK's KeyGrants.encrypt).",
    });
  }
}
