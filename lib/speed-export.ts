import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { SPEED_HOURLY } from '../contract/lake-tables';
import { findHourlyWindow } from '../core/reconcile';
import { WINDOWS_ENV, type WindowSpec } from '../core/speed-config';
import { addBundledFunction } from './bundled-function';
import { acknowledgeWildcards, wildcardResourceFinding } from './nag-acknowledgements';
import { grantAggregateReads } from './table-read-grant';
import { checkDuration, SluicePropsError } from './validation';

const HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'speed-export', 'handler.ts');

export interface SpeedExportProps {
  /** The speed layer's table (with the window index), read by key only. */
  readonly table: dynamodb.ITable;
  /** The lake bucket; objects are written under `speed/hourly/` only. */
  readonly bucket: s3.IBucket;
  /** The configured windows; one must be the tumbling 1h window (the one exported). */
  readonly windows: readonly WindowSpec[];
  /** How late an event may be and still count in the speed layer (config `lateness`): how far back a sweep goes. */
  readonly lateness: Duration;
  /**
   * Time between exports, whole minutes from 1 to 60.
   * @default Duration.minutes(10)
   */
  readonly interval?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The speed export (lambdas/adapters/speed-export.ts): EventBridge Scheduler invokes a Lambda every
 * `interval`, which copies the speed layer's tumbling one-hour windows of the hours that can still
 * change to `speed/hourly/dt=<day>/<HH>.json.gz` (the Glue table `speed_hourly`, partition
 * projection). Its role reads the table by key and writes that prefix, nothing else.
 */
export class SpeedExport extends Construct {
  public readonly function: lambda.IFunction;
  public readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: SpeedExportProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(10);
    checkDuration(this, 'interval', interval, 60, 3_600, 'seconds');
    if (!interval.isUnresolved() && interval.toSeconds() % 60 !== 0) {
      throw new SluicePropsError(this, 'interval', interval.toHumanString(), 'must be whole minutes');
    }
    if (findHourlyWindow(props.windows) === undefined) {
      throw new SluicePropsError(
        this,
        'windows',
        props.windows.map((w) => w.name).join(', '),
        'must include a tumbling 1h window (the window the export copies)',
      );
    }
    const { function: fn, role } = addBundledFunction(this, {
      entry: HANDLER_ENTRY,
      description: "Sluice speed export: the speed layer's hourly windows to the lake (speed_hourly)",
      roleDescription:
        'Sluice speed export: reads the aggregates table by key, writes speed/hourly/ of the lake',
      memorySize: 512,
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      environment: {
        TABLE_NAME: props.table.tableName,
        LAKE_BUCKET: props.bucket.bucketName,
        [WINDOWS_ENV]: JSON.stringify(props.windows),
        LATENESS_MS: String(props.lateness.toMilliseconds()),
        EXPORT_INTERVAL_MS: String(interval.toMilliseconds()),
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    this.function = fn;
    grantAggregateReads(props.table, fn);
    const objects = `${SPEED_HOURLY.prefix}*`;
    props.bucket.grantPut(fn, objects);

    // Its own role, so the invoke grant's finding is acknowledged where it is made.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Sluice speed export schedule: invokes the export function',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Sluice: export the speed layer's hourly windows every ${interval.toHumanString()}`,
      schedule: scheduler.ScheduleExpression.rate(interval),
      target: new schedulerTargets.LambdaInvoke(fn, {
        role: schedulerRole,
        input: scheduler.ScheduleTargetInput.fromObject({}),
        // The next run exports the same hours: a run dropped after a short retry loses nothing.
        retryAttempts: 1,
        maxEventAge: interval,
      }),
    });

    acknowledgeWildcards(schedulerRole.node.findChild('DefaultPolicy'), {
      [wildcardResourceFinding(this, `${fn.functionArn}:*`)]:
        "From Function.grantInvoke, which covers the function's versions and aliases: this role invokes the export function only.",
    });
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      acknowledgeWildcards(policy, {
        [wildcardResourceFinding(this, props.bucket.arnForObjects(objects))]:
          'One object per hour (speed/hourly/dt=YYYY-MM-DD/HH.json.gz); the put grant is limited to that prefix.',
        'Action::s3:Abort*': 'From Bucket.grantPut: aborting own multipart uploads, speed/hourly/ only.',
        'Action::kms:GenerateDataKey*': 'Writing SSE-KMS objects needs data keys, on the lake key only.',
        'Action::kms:ReEncrypt*':
          "From the lake bucket's encrypt grant (CDK's KeyGrants.encrypt), on the lake key only.",
      });
    }
  }
}
