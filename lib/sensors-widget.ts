import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRIC_PATTERN } from '../core/event';
import { findHourlyWindow } from '../core/reconcile';
import { WINDOWS_ENV, type WindowSpec } from '../core/speed-config';
import { addBundledFunction } from './bundled-function';
import { grantAggregateReads } from './table-read-grant';
import { SluicePropsError } from './validation';

const HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'aggregates-widget', 'handler.ts');

export interface SensorsWidgetProps {
  /** The speed layer's table (with the window index): read by key only. */
  readonly table: dynamodb.ITable;
  /** The configured windows; the tumbling 1h window lists the series (top-N needs one). */
  readonly windows: readonly WindowSpec[];
  /** The metric the widget ranks sensors by (1–64 of letters, digits and `._-`). */
  readonly metric: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The function behind the dashboard's sensors widget (a CloudWatch custom widget,
 * lambdas/aggregates-widget): HTML of the top-N sensors of `metric` and of a chosen sensor's
 * windows. Read-only: its role may Query and BatchGetItem the aggregates table and Query its window
 * index, nothing else. CloudWatch invokes it with the dashboard viewer's own permissions
 * (`lambda:InvokeFunction` on it), so it needs no resource policy.
 */
export class SensorsWidget extends Construct {
  public readonly function: lambda.IFunction;
  public readonly metric: string;
  public readonly window: string;

  constructor(scope: Construct, id: string, props: SensorsWidgetProps) {
    super(scope, id);
    if (!METRIC_PATTERN.test(props.metric)) {
      throw new SluicePropsError(this, 'metric', props.metric, 'must be 1–64 of letters, digits and ._-');
    }
    const hourly = findHourlyWindow(props.windows);
    if (!hourly) {
      throw new SluicePropsError(
        this,
        'windows',
        props.windows.map((w) => w.name).join(', '),
        'must include a tumbling 1h window (the window index lists series by it)',
      );
    }
    this.metric = props.metric;
    this.window = hourly.name;
    const { function: fn } = addBundledFunction(this, {
      entry: HANDLER_ENTRY,
      description: 'Sluice sensors widget: top-N sensors and a sensor’s windows from the aggregates table',
      roleDescription: 'Sluice sensors widget: reads the aggregates table by key (read-only)',
      memorySize: 256,
      timeout: Duration.seconds(30),
      logRetention: props.logRetention,
      environment: {
        TABLE_NAME: props.table.tableName,
        [WINDOWS_ENV]: JSON.stringify(props.windows),
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    this.function = fn;
    grantAggregateReads(props.table, fn);
  }
}
