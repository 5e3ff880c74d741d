/**
 * The serving layer's resources as deployed: the window index, the speed export (schedule,
 * function, grants), the Glue table and view, the sensors widget's function and its dashboard row.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { readSql } from '../../contract/sql-template';
import { WINDOW_INDEX } from '../../contract/table-keys';
import { SENSOR_STATS_HOURLY_LIVE } from '../../contract/lake-tables';
import { SensorsWidget } from '../../lib/sensors-widget';
import { SpeedExport, type SpeedExportProps } from '../../lib/speed-export';
import { logicalId, newStack, synthSluice } from './synth';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const { stack, template } = synthSluice({ lateness: '6h', aggregateTtl: '2d' });
const tableId = logicalId(stack.aggregates.table);

/** The statements of the policies on a function's role. */
function statementsOf(fn: lambda.IFunction): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: logicalId(fn.role!) }] },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const dynamoStatements = (statements: Statement[]): Statement[] =>
  statements.filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));

describe('window index', () => {
  test('is a keys-only index of windowKey and pk', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: WINDOW_INDEX.indexName,
          KeySchema: [
            { AttributeName: 'windowKey', KeyType: 'HASH' },
            { AttributeName: 'pk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
  });

  test('scales its capacity like the table (provisioned default)', () => {
    for (const dimension of ['WriteCapacityUnits', 'ReadCapacityUnits']) {
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        ScalableDimension: `dynamodb:index:${dimension}`,
        ResourceId: Match.objectLike({
          'Fn::Join': ['', Match.arrayWith([`/index/${WINDOW_INDEX.indexName}`])],
        }),
      });
    }
  });
});

describe('speed export', () => {
  const exportFn = stack.speedExport!.function;
  const exportId = logicalId(exportFn);

  test('runs every 10 minutes, invoking the export function', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(10 minutes)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [exportId, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 600 },
      }),
    });
  });

  test('is told the table, bucket, windows, lateness and interval', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Sluice speed export'),
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: tableId },
          LATENESS_MS: String(6 * 3_600_000),
          EXPORT_INTERVAL_MS: '600000',
          SLUICE_WINDOWS: Match.stringLikeRegexp('"name":"1h","sizeMs":3600000,"hopMs":3600000'),
        }),
      },
    });
  });

  test('reads the table by key and the window index only, and writes speed/hourly/ only', () => {
    const statements = statementsOf(exportFn);
    const dynamo = dynamoStatements(statements);
    expect(dynamo.flatMap(actions).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:Query',
    ]);
    expect(JSON.stringify(dynamo)).toContain(`/index/${WINDOW_INDEX.indexName}`);
    expect(JSON.stringify(dynamo)).not.toContain('index/*');
    const puts = statements.filter((s) => actions(s).includes('s3:PutObject'));
    expect(puts).toHaveLength(1);
    expect(JSON.stringify(puts[0].Resource)).toContain('/speed/hourly/*');
    expect(statements.flatMap(actions)).not.toContain('s3:GetObject*');
  });

  test("pages the ops topic when half or more of an hour's runs fail", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Sluice-dev-speed-export-failed',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: exportId } }],
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: logicalId(stack.ops.topic) }],
      AlarmDescription: Match.stringLikeRegexp('Runbook: docs/runbook.md#speed-export-failing$'),
    });
  });

  /** A SpeedExport in a bare stack, with `overrides` over valid props. */
  function exportWith(overrides: Partial<SpeedExportProps>): SpeedExport {
    const s = newStack();
    return new SpeedExport(s, 'SpeedExport', {
      table: new dynamodb.Table(s, 'T', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      }),
      bucket: new s3.Bucket(s, 'B'),
      windows: [{ name: '1h', sizeMs: 3_600_000, hopMs: 3_600_000 }],
      lateness: Duration.hours(1),
      ...overrides,
    });
  }

  test('fails at synth without a tumbling 1h window', () => {
    expect(() => exportWith({ windows: [{ name: '5m', sizeMs: 300_000, hopMs: 60_000 }] })).toThrow(
      /windows must include a tumbling 1h window .*\(given 5m\)/,
    );
  });

  test('fails at synth for an interval of two hours', () => {
    expect(() => exportWith({ interval: Duration.hours(2) })).toThrow(
      /interval must be a whole number of seconds between 60 and 3600 seconds inclusive \(given 2 hours\)/,
    );
  });
});

describe('lake catalog', () => {
  test('speed_hourly is an NDJSON table over speed/hourly/ with dt projected', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'speed_hourly',
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'storage.location.template': Match.objectLike({
            'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/speed/hourly/dt=\\$\\{dt\\}/$')])],
          }),
        }),
        StorageDescriptor: Match.objectLike({
          SerdeInfo: Match.objectLike({
            SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            Parameters: Match.objectLike({
              'mapping.sensor_id': 'sensorId',
              'mapping.hour_start': 'hourStart',
            }),
          }),
        }),
      }),
    });
  });

  test('sensor_stats_hourly_live is an Athena view holding the SQL of sql/views and its column types', () => {
    const views = Object.values(
      template.findResources('AWS::Glue::Table', {
        Properties: { TableInput: { Name: SENSOR_STATS_HOURLY_LIVE.name } },
      }),
    );
    expect(views).toHaveLength(1);
    const input = views[0].Properties.TableInput;
    expect([input.TableType, input.Parameters.presto_view, input.ViewExpandedText]).toEqual([
      'VIRTUAL_VIEW',
      'true',
      '/* Presto View */',
    ]);
    const match = /^\/\* Presto View: (.+) \*\/$/.exec(input.ViewOriginalText as string);
    const view = JSON.parse(Buffer.from(match![1], 'base64').toString('utf8'));
    expect(view.schema).toBe('sluice_dev');
    expect(view.columns).toEqual(SENSOR_STATS_HOURLY_LIVE.columns);
    expect(view.originalSql).toContain('WHERE dt NOT IN (SELECT DISTINCT dt FROM sensor_stats_hourly)');
    expect(readSql(SENSOR_STATS_HOURLY_LIVE.sqlFile)).toContain(view.originalSql.split('\n')[0]);
    expect(input.StorageDescriptor.Columns.map((c: { Type: string }) => c.Type)).toEqual([
      'string',
      'string',
      'timestamp',
      'bigint',
      'double',
      'double',
      'double',
      'string',
      'string',
    ]);
  });
});

describe('sensors widget', () => {
  const widgetFn = stack.sensorsWidget!.function;

  test('its function may only Query and BatchGetItem the table and Query the window index', () => {
    const statements = statementsOf(widgetFn);
    expect(
      statements
        .flatMap(actions)
        .filter((a) => !a.startsWith('logs:'))
        .sort(),
    ).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Query']);
    expect(JSON.stringify(dynamoStatements(statements))).toContain(`"${tableId}","Arn"`);
  });

  test('the dashboard has a Sensors row of custom widgets backed by it', () => {
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    expect(body).toContain('## Sensors');
    expect(body).toContain('\\"type\\":\\"custom\\"');
    expect(body).toContain(logicalId(widgetFn));
    expect(body).toMatch(
      /\\"params\\":\{\\"metric\\":\\"temperature\\",\\"window\\":\\"1h\\",\\"top\\":10,\\"by\\":\\"max\\"\}/,
    );
  });

  test('fails at synth for a metric that is not one', () => {
    const s = newStack();
    expect(
      () =>
        new SensorsWidget(s, 'SensorsWidget', {
          table: new dynamodb.Table(s, 'T', {
            partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
          }),
          windows: [{ name: '1h', sizeMs: 3_600_000, hopMs: 3_600_000 }],
          metric: '<b>',
        }),
    ).toThrow(/metric must be 1–64 of letters, digits and \._- \(given <b>\)/);
  });
});
