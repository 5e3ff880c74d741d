import { Stack, Token } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { readSql } from '../contract/sql-template';
import { DEFAULT_CONFIG } from '../contract/config';
import { LAKE_PREFIXES } from '../contract/lake-layout';
import { SluicePropsError } from './validation';

export const ATHENA_ENGINE_VERSION = 'Athena engine version 3';

/** Saved queries every deployment gets, from `sql/queries/` (Athena `?` parameters, asked for on run). */
export const SAVED_QUERIES: readonly {
  readonly name: string;
  readonly file: string;
  readonly description: string;
}[] = [
  {
    name: 'Hottest sensors yesterday',
    file: 'queries/hottest_sensors_yesterday.sql',
    description: 'The 20 sensors with the highest temperature on the previous UTC day',
  },
  {
    name: 'Hourly trend of a sensor (7 days)',
    file: 'queries/sensor_hourly_trend.sql',
    description: 'Count, mean, min, max and p95 per hour for one sensor (asks for the sensor id)',
  },
  {
    name: 'Quarantine reasons by day',
    file: 'queries/quarantine_reasons_by_day.sql',
    description: 'Invalid records per reason and day over the last 14 days',
  },
];

const WORKGROUP_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const MIN_CUTOFF_BYTES = 10 * 1024 ** 2;

/** What a query runner needs from a workgroup. */
export interface IQueryWorkgroup {
  readonly workGroupName: string;
  /** Lets `grantee` start, watch and stop queries in the workgroup and write their results. */
  grantQuery(grantee: iam.IGrantable): void;
}

export interface AnalyticsWorkgroupProps {
  /** The lake bucket; query results go under `athena-results/`, encrypted like the bucket. */
  readonly bucket: s3.IBucket;
  /** The database the saved queries run in. */
  readonly database: glue.IDatabase;
  /**
   * Workgroup name, 1–128 of letters, digits and `._-`.
   * @default 'sluice'
   */
  readonly workGroupName?: string;
  /**
   * Queries that would scan more than this many bytes are cancelled; at least 10 MiB (config
   * `batch.bytesScannedCutoffPerQuery`).
   * @default 10 GiB
   */
  readonly bytesScannedCutoffPerQuery?: number;
}

/**
 * The Athena workgroup users and the batch job query through: engine version 3, results encrypted
 * under `athena-results/` of the lake, a per-query scan limit, and settings enforced (clients cannot
 * override the result location, encryption or limit). Comes with saved queries for day one.
 */
export class AnalyticsWorkgroup extends Construct implements IQueryWorkgroup {
  public readonly workGroup: athena.CfnWorkGroup;
  public readonly workGroupName: string;
  public readonly workGroupArn: string;
  public readonly namedQueries: readonly athena.CfnNamedQuery[];
  private readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: AnalyticsWorkgroupProps) {
    super(scope, id);
    const name = props.workGroupName ?? 'sluice';
    const cutoff = props.bytesScannedCutoffPerQuery ?? DEFAULT_CONFIG.batch.bytesScannedCutoffPerQuery;
    if (!Token.isUnresolved(name) && !WORKGROUP_NAME.test(name)) {
      throw new SluicePropsError(this, 'workGroupName', name, 'must be 1–128 of letters, digits and ._-');
    }
    if (!Token.isUnresolved(cutoff) && !(Number.isSafeInteger(cutoff) && cutoff >= MIN_CUTOFF_BYTES)) {
      throw new SluicePropsError(
        this,
        'bytesScannedCutoffPerQuery',
        String(cutoff),
        `must be a whole number of bytes, at least ${MIN_CUTOFF_BYTES} (10 MiB, Athena's minimum)`,
      );
    }
    this.bucket = props.bucket;
    const key = props.bucket.encryptionKey;

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name,
      description: 'Sluice: queries over the data lake (users and the batch job)',
      state: 'ENABLED',
      // Deleting the workgroup with the stack also deletes its saved queries and history.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoff,
        engineVersion: { selectedEngineVersion: ATHENA_ENGINE_VERSION },
        resultConfiguration: {
          outputLocation: `s3://${props.bucket.bucketName}/${LAKE_PREFIXES.athenaResults}`,
          encryptionConfiguration: key
            ? { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn }
            : { encryptionOption: 'SSE_S3' },
        },
      },
    });
    this.workGroupName = name;
    this.workGroupArn = Stack.of(this).formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: name,
    });

    this.namedQueries = SAVED_QUERIES.map((query, index) => {
      const named = new athena.CfnNamedQuery(this, `SavedQuery${index + 1}`, {
        name: query.name,
        description: query.description,
        database: props.database.databaseName,
        workGroup: name,
        queryString: readSql(query.file),
      });
      named.node.addDependency(this.workGroup);
      return named;
    });
  }

  grantQuery(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:StopQueryExecution',
        'athena:GetWorkGroup',
      ],
      resourceArns: [this.workGroupArn],
    });
    this.bucket.grantReadWrite(grantee, `${LAKE_PREFIXES.athenaResults}*`);
  }
}
