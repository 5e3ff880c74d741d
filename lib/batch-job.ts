import { Aws, Duration, RemovalPolicy, TimeZone, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { jsonataSqlExpression, readSql } from '../contract/sql-template';
import type { IQueryWorkgroup } from './analytics-workgroup';
import type { ILakeCatalog } from './catalog';
import { DEFAULT_CONFIG, durationMs } from '../contract/config';
import { LAKE_PREFIXES } from '../contract/lake-layout';
import { CURATED_TABLES, type CuratedTableSpec, RAW_EVENTS } from '../contract/lake-tables';
import { acknowledgeWildcards, wildcardResourceFinding } from './nag-acknowledgements';
import { checkDuration, checkInteger, SluicePropsError } from './validation';

const SCHEDULE_EXPRESSION = /^(cron|rate|at)\(.+\)$/;
/** The JSONata picture that formats epoch milliseconds as `YYYY-MM-DD`. */
const DAY_PICTURE = "'[Y0001]-[M01]-[D01]'";
const DAY_MS = 86_400_000;

export interface BatchJobProps {
  /** The lake bucket: the job clears `curated/<table>/dt=<day>/` before rebuilding it. */
  readonly bucket: s3.IBucket;
  /** Tables read (`raw_events`) and written (`events`, `sensor_stats_hourly`, `sensor_stats_daily`). */
  readonly catalog: ILakeCatalog;
  /** The Athena workgroup the queries run in (results location, encryption and scan limit). */
  readonly workgroup: IQueryWorkgroup;
  /** Failed runs and timed-out runs are reported here (publish access is granted). */
  readonly opsTopic: sns.ITopic;
  /**
   * When the daily run starts: an EventBridge Scheduler expression in UTC (config `batch.schedule`).
   * A scheduled run builds yesterday.
   * @default 'cron(0 2 * * ? *)' (02:00 UTC)
   */
  readonly schedule?: string;
  /**
   * Events further than this ahead of their arrival are invalid (config `maxClockSkew`), whole
   * milliseconds, 0–1 day.
   * @default Duration.minutes(5)
   */
  readonly maxClockSkew?: Duration;
  /**
   * Days built at the same time in a backfill, 1–10 (each runs up to one Athena query at a time).
   * @default 2
   */
  readonly maxConcurrentDays?: number;
  /**
   * Largest date range one execution accepts, 1–200 days (an execution's history holds at most
   * 25,000 events, about 90 per day). Split longer backfills into several executions.
   * @default 120
   */
  readonly maxDaysPerRun?: number;
  /**
   * A run still going after this long is stopped and reported, whole seconds, 5 minutes–23 hours.
   * @default Duration.hours(12)
   */
  readonly timeout?: Duration;
  /**
   * How long the state machine's execution logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The daily batch job: EventBridge Scheduler starts a Step Functions state machine that rebuilds
 * day D of `events`, `sensor_stats_hourly` and `sensor_stats_daily` with Athena, from the raw arrival
 * partitions D and D+1 filtered by event time. Each table's `dt=D` partition is emptied, then
 * refilled with `INSERT INTO`, so a re-run replaces it exactly.
 *
 * Input: `{}` builds yesterday (UTC, relative to the execution's start), `{"day": "YYYY-MM-DD"}`
 * one day, `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}` every day of the range (a backfill).
 * The SQL is `sql/<table>.sql`, read at synth time and embedded; only `{{day}}` and `{{next_day}}`
 * are filled in at run time. Failures are published to the ops topic with the failing day and cause.
 *
 * A scheduled run early on D+1 sees the records that arrived by then; records of day D that arrive
 * later on D+1 are picked up by running the day again (`{"day": "D"}`) before D+2 ends. Records
 * arriving two or more days after their event day are never included (they stay in `raw_events`).
 * Runs started while another run builds the same day race on its partitions: run one at a time.
 */
export class BatchJob extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly schedule: scheduler.Schedule;
  public readonly logGroup: logs.ILogGroup;
  /** Fires when a run exceeds the timeout (failures are reported by the run itself). */
  public readonly timedOutAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: BatchJobProps) {
    super(scope, id);
    const scheduleExpression = props.schedule ?? DEFAULT_CONFIG.batch.schedule;
    const maxClockSkew = props.maxClockSkew ?? Duration.millis(durationMs(DEFAULT_CONFIG.maxClockSkew));
    const maxConcurrentDays = props.maxConcurrentDays ?? 2;
    const maxDaysPerRun = props.maxDaysPerRun ?? 120;
    const timeout = props.timeout ?? Duration.hours(12);
    if (!Token.isUnresolved(scheduleExpression) && !SCHEDULE_EXPRESSION.test(scheduleExpression)) {
      throw new SluicePropsError(
        this,
        'schedule',
        scheduleExpression,
        'must be an EventBridge Scheduler expression like "cron(0 2 * * ? *)" or "rate(1 day)"',
      );
    }
    if (!maxClockSkew.isUnresolved()) {
      const ms = maxClockSkew.toMilliseconds();
      if (!Number.isInteger(ms) || ms < 0 || ms > DAY_MS) {
        throw new SluicePropsError(
          this,
          'maxClockSkew',
          maxClockSkew.toHumanString(),
          'must be between 0 and 1 day',
        );
      }
    }
    checkInteger(this, 'maxConcurrentDays', maxConcurrentDays, 1, 10);
    checkInteger(this, 'maxDaysPerRun', maxDaysPerRun, 1, 200);
    checkDuration(this, 'timeout', timeout, 300, 23 * 3600, 'seconds');

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const invalidInput = sfn.Fail.jsonata(this, 'InvalidInput', {
      error: 'InvalidInput',
      cause: `Input must be {} (yesterday), {"day": "YYYY-MM-DD"} or {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"} with from <= to and at most ${maxDaysPerRun} days`,
    });
    const resolveDays = sfn.Pass.jsonata(this, 'ResolveDays', {
      comment: 'The days to build: the input range or day, or yesterday (UTC) for a scheduled run',
      outputs: { days: `{% ${daysExpression()} %}` },
    });
    const checkInput = sfn.Choice.jsonata(this, 'CheckInput')
      .when(sfn.Condition.jsonata(`{% ${inputIsValidExpression(maxDaysPerRun)} %}`), resolveDays)
      .otherwise(invalidInput);

    const notifyOps = tasks.SnsPublish.jsonata(this, 'NotifyOps', {
      topic: props.opsTopic,
      subject: 'Sluice batch job failed',
      message: sfn.TaskInput.fromText(`{% ${failureMessageExpression()} %}`),
      outputs: '{% $states.input %}',
    });
    const failed = sfn.Fail.jsonata(this, 'Failed', {
      error: "{% $exists($states.input.Error) ? $states.input.Error : 'BatchJobFailed' %}",
      cause: "{% $exists($states.input.Cause) ? $states.input.Cause : 'See the execution history' %}",
    });
    notifyOps.next(failed);

    const buildDays = sfn.Map.jsonata(this, 'BuildDays', {
      comment: 'Rebuilds each day: events, then the hourly and daily statistics read from it',
      items: sfn.ProvideItems.jsonata('{% $states.input.days %}'),
      maxConcurrency: maxConcurrentDays,
    });
    buildDays.itemProcessor(this.dayDefinition(props, maxClockSkew.toMilliseconds()));
    buildDays.addCatch(notifyOps, { errors: [sfn.Errors.ALL], outputs: '{% $states.errorOutput %}' });
    resolveDays.next(buildDays);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Sluice batch job: rebuilds curated tables for a day or a range of days with Athena',
      queryLanguage: sfn.QueryLanguage.JSONATA,
      definitionBody: sfn.DefinitionBody.fromChainable(checkInput),
      timeout,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    const role = this.stateMachine.role;
    props.catalog.grantRead(role, [RAW_EVENTS.name]);
    props.catalog.grantReadWrite(
      role,
      CURATED_TABLES.map((t) => t.name),
    );
    props.workgroup.grantQuery(role);
    props.opsTopic.grantPublish(role);

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Sluice: daily batch job (builds yesterday)',
      schedule: scheduler.ScheduleExpression.expression(scheduleExpression, TimeZone.ETC_UTC),
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });

    this.timedOutAlarm = new cloudwatch.Alarm(this, 'TimedOutAlarm', {
      alarmDescription: `A Sluice batch run took longer than ${timeout.toHumanString()} and was stopped`,
      metric: this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.timedOutAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.opsTopic));

    this.acknowledgeFindings(role, props.bucket);
  }

  /** One iteration of the Map: plan the day, then clear and rebuild each table in order. */
  private dayDefinition(props: BatchJobProps, maxClockSkewMs: number): sfn.IChainable {
    const dayFailed = sfn.Fail.jsonata(this, 'DayFailed', {
      error: "{% $exists($states.input.Error) ? $states.input.Error : 'BuildFailed' %}",
      cause: `{% 'Building ' & $day & ' failed: ' & $states.input.Cause %}`,
    });
    const planDay = sfn.Pass.jsonata(this, 'PlanDay', {
      assign: {
        day: '{% $states.input %}',
        nextDay: `{% $fromMillis($toMillis($states.input & 'T00:00:00Z') + ${DAY_MS}, ${DAY_PICTURE}) %}`,
      },
    });
    let previous: sfn.INextable = planDay;
    for (const table of CURATED_TABLES) {
      const { first, last } = this.tableSteps(props, table, maxClockSkewMs, dayFailed);
      previous.next(first);
      previous = last;
    }
    return planDay;
  }

  /** Clear `curated/<table>/dt=<day>/`, then `INSERT INTO <table>` the day's rows. */
  private tableSteps(
    props: BatchJobProps,
    table: CuratedTableSpec,
    maxClockSkewMs: number,
    dayFailed: sfn.IChainable,
  ): { first: sfn.State; last: sfn.CustomState } {
    const name = pascal(table.name);
    const bucket = props.bucket;
    const retryS3: sfn.RetryProps = {
      errors: [sfn.Errors.TASKS_FAILED],
      maxAttempts: 3,
      interval: Duration.seconds(5),
      backoffRate: 2,
    };

    const list = tasks.CallAwsService.jsonata(this, `List${name}Partition`, {
      comment: `Objects left in ${table.name}'s partition for the day`,
      service: 's3',
      action: 'listObjectsV2',
      iamAction: 's3:ListBucket',
      iamResources: [bucket.bucketArn],
      parameters: { Bucket: bucket.bucketName, Prefix: `{% '${table.prefix}dt=' & $day & '/' %}` },
    });
    const remove = tasks.CallAwsService.jsonata(this, `Delete${name}Objects`, {
      comment: 'Deletes up to 1000 listed objects, then lists again',
      service: 's3',
      action: 'deleteObjects',
      iamAction: 's3:DeleteObject',
      iamResources: [bucket.arnForObjects(`${table.prefix}*`)],
      parameters: {
        Bucket: bucket.bucketName,
        Delete: { Objects: "{% [$states.input.Contents.{'Key': Key}] %}", Quiet: true },
      },
    });
    const notCleared = sfn.Fail.jsonata(this, `${name}PartitionNotCleared`, {
      error: 'PartitionNotCleared',
      cause: `{% 'Could not delete objects of ${table.prefix}dt=' & $day & '/: ' & $string($states.input.Errors) %}`,
    });
    const build = new sfn.CustomState(this, `Build${name}`, {
      stateJson: {
        Type: 'Task',
        Comment: `INSERT INTO ${table.name} from sql/${table.sqlFile}`,
        Resource: `arn:${Aws.PARTITION}:states:::athena:startQueryExecution.sync`,
        Arguments: {
          QueryString: `{% ${this.queryExpression(table, maxClockSkewMs)} %}`,
          WorkGroup: props.workgroup.workGroupName,
          QueryExecutionContext: { Database: props.catalog.database.databaseName },
        },
        Output: {
          day: '{% $day %}',
          table: table.name,
          queryExecutionId: '{% $states.result.QueryExecution.QueryExecutionId %}',
        },
      },
    });
    build.addRetry({
      errors: ['Athena.TooManyRequestsException', 'Athena.InternalServerException'],
      maxAttempts: 5,
      interval: Duration.seconds(10),
      backoffRate: 2,
    });
    for (const task of [list, remove]) task.addRetry(retryS3);
    for (const task of [list, remove, build]) task.addCatch(dayFailed, { errors: [sfn.Errors.ALL] });

    list.next(
      sfn.Choice.jsonata(this, `${name}PartitionHasObjects`)
        .when(sfn.Condition.jsonata('{% $states.input.KeyCount > 0 %}'), remove)
        .otherwise(build),
    );
    remove.next(
      sfn.Choice.jsonata(this, `${name}ObjectsDeleted`)
        .when(sfn.Condition.jsonata('{% $count($states.input.Errors) > 0 %}'), notCleared)
        .otherwise(list),
    );
    return { first: list, last: build };
  }

  /** `INSERT INTO <table>` + `sql/<table>.sql`, with `{{day}}` and `{{next_day}}` filled in at run time. */
  private queryExpression(table: CuratedTableSpec, maxClockSkewMs: number): string {
    return jsonataSqlExpression(
      `INSERT INTO ${table.name}\n${readSql(table.sqlFile)}`,
      { max_clock_skew_ms: maxClockSkewMs },
      { day: '$day', next_day: '$nextDay' },
    );
  }

  private acknowledgeFindings(role: iam.IRole, bucket: s3.IBucket): void {
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-SF2',
      reason:
        'The job is a sequence of Athena queries and S3 calls whose timings are in the execution history and logs; X-Ray would add an xray:* policy on all resources for little insight.',
    });
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const objects = (prefix: string): string =>
      wildcardResourceFinding(this, bucket.arnForObjects(`${prefix}*`));
    acknowledgeWildcards(policy, {
      'Resource::*':
        'Step Functions log delivery (logs:CreateLogDelivery, logs:DescribeLogGroups, ...) supports no resource-level permissions; CDK adds these for the execution log group.',
      [objects(RAW_EVENTS.prefix)]:
        'Athena reads every raw object of the arrival partitions a query selects (read only, raw/ prefix).',
      ...Object.fromEntries(
        CURATED_TABLES.map((t) => [
          objects(t.prefix),
          `INSERT INTO ${t.name} writes generated object names under its prefix.`,
        ]),
      ),
      [objects(LAKE_PREFIXES.athenaResults)]:
        'Athena writes query results and metadata with generated names under athena-results/.',
      'Action::s3:Abort*':
        'From Bucket.grantReadWrite: Athena aborts its own failed multipart uploads, on the granted prefixes only.',
      'Action::s3:DeleteObject*':
        'From Bucket.grantReadWrite, on the curated and athena-results prefixes only.',
      'Action::s3:GetBucket*': 'From Bucket.grantRead: Athena checks bucket location and encryption.',
      'Action::s3:GetObject*': 'From Bucket.grantRead, on the granted prefixes only.',
      'Action::s3:List*':
        'From Bucket.grantRead: Athena lists the partitions it reads and multipart uploads it writes.',
      'Action::kms:GenerateDataKey*':
        'Writing SSE-KMS objects and publishing to the encrypted ops topic need data keys, on those keys only.',
      'Action::kms:ReEncrypt*':
        "From Bucket.grantReadWrite's encrypt grant on the lake key (CDK's KeyGrants).",
    });
  }
}

/**
 * A JSONata expression written as lines (for the reader of this file) and rendered as one line.
 * Step Functions accepts line breaks inside `{% … %}` (and CDK does since aws-cdk PR 35985), but
 * asl-validator's schema (`^\{% .+ %\}$`) does not. Flattening here rather than validating a
 * flattened copy in the test keeps the validated definition byte for byte the one that deploys.
 * JSONata treats a line break like a space outside string literals, and no line here ends inside
 * one (the SQL travels JSON-escaped, `\n` not a line break: `jsonataSqlExpression`).
 */
function oneLine(lines: readonly string[]): string {
  return lines.map((line) => line.trim()).join(' ');
}

/** `sensor_stats_hourly` -> `SensorStatsHourly`. */
function pascal(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
}

/** True when the execution input is `{}`, a valid `{day}` or a valid `{from, to}` range of at most `maxDays`. */
export function inputIsValidExpression(maxDays: number): string {
  return oneLine([
    '(',
    '  $isDay := function($d) {',
    "    $type($d) = 'string' and $contains($d, /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/)",
    `    and $fromMillis($toMillis($d & 'T00:00:00Z'), ${DAY_PICTURE}) = $d`,
    '  };',
    '  $in := $states.input;',
    '  ($exists($in.from) or $exists($in.to))',
    '    ? ($isDay($in.from) and $isDay($in.to)',
    `      and $toMillis($in.from & 'T00:00:00Z') <= $toMillis($in.to & 'T00:00:00Z')`,
    `      and ($toMillis($in.to & 'T00:00:00Z') - $toMillis($in.from & 'T00:00:00Z')) / ${DAY_MS} < ${maxDays})`,
    '    : ($exists($in.day) ? $isDay($in.day) : true)',
    ')',
  ]);
}

/**
 * The days to build, as an array of `YYYY-MM-DD`. (Step Functions forbids the bare context `$`, so
 * the range is mapped with a named parameter.)
 */
export function daysExpression(): string {
  return oneLine([
    '(',
    '  $in := $states.input;',
    `  $format := function($ms) { $fromMillis($ms, ${DAY_PICTURE}) };`,
    '  $exists($in.from)',
    '    ? (',
    "        $start := $toMillis($in.from & 'T00:00:00Z');",
    `        $last := ($toMillis($in.to & 'T00:00:00Z') - $start) / ${DAY_MS};`,
    `        [$map([0..$last], function($i) { $format($start + $i * ${DAY_MS}) })]`,
    '      )',
    '    : (',
    '        $exists($in.day)',
    '          ? [$in.day]',
    `          : [$format($toMillis($states.context.Execution.StartTime) - ${DAY_MS})]`,
    '      )',
    ')',
  ]);
}

/** The ops notification: which execution failed, with what input, error and cause. */
export function failureMessageExpression(): string {
  return oneLine([
    '$string({',
    "  'job': 'Sluice batch job',",
    "  'execution': $states.context.Execution.Id,",
    "  'input': $states.context.Execution.Input,",
    "  'error': $states.input.Error,",
    "  'cause': $substring($states.input.Cause, 0, 8000)",
    '}, true)',
  ]);
}
