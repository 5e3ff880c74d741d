/**
 * A stack holding the resources the observability constructs watch — the project's own constructs
 * where they exist (stream, processor, table, lake, catalog, workgroup, raw landing, ops topic) and
 * a stand-in state machine for the batch job — so the ops constructs can be tested on their own.
 */
import type { Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AggregatesTable } from '../../lib/aggregates-table';
import { AnalyticsWorkgroup } from '../../lib/analytics-workgroup';
import { LakeCatalog } from '../../lib/catalog';
import { resolveConfig, toSpeedConfig } from '../../contract/config';
import { DataLake } from '../../lib/data-lake';
import { IngestStream } from '../../lib/ingest-stream';
import { AlertsTopic } from '../../lib/alerts-topic';
import { OpsTopic } from '../../lib/ops-topic';
import { OpsAlarms, type OpsAlarmsProps } from '../../lib/ops-alarms';
import { RawLanding } from '../../lib/raw-landing';
import { Reconciliation, type ReconciliationProps } from '../../lib/reconciliation';
import { StreamProcessor } from '../../lib/stream-processor';
import { newStack } from './synth';

/** The stage the fixture's functions publish their metrics in. */
export const FIXTURE_STAGE = 'qa';

export interface OpsFixture {
  readonly stack: Stack;
  readonly ingest: IngestStream;
  readonly processor: StreamProcessor;
  readonly aggregates: AggregatesTable;
  readonly alerts: AlertsTopic;
  readonly lake: DataLake;
  readonly catalog: LakeCatalog;
  readonly workgroup: AnalyticsWorkgroup;
  readonly rawLanding: RawLanding;
  readonly ops: OpsTopic;
  readonly batchJob: sfn.StateMachine;
}

export function opsFixture(): OpsFixture {
  const stack = newStack();
  const ingest = new IngestStream(stack, 'IngestStream');
  const lake = new DataLake(stack, 'DataLake');
  const aggregates = new AggregatesTable(stack, 'AggregatesTable');
  const alerts = new AlertsTopic(stack, 'AlertsTopic');
  const ops = new OpsTopic(stack, 'OpsTopic');
  const processor = new StreamProcessor(stack, 'StreamProcessor', {
    stream: ingest.stream,
    table: aggregates.table,
    alertsTopic: alerts.topic,
    lakeBucket: lake.bucket,
    speedConfig: toSpeedConfig(resolveConfig({})),
    stage: FIXTURE_STAGE,
  });
  const catalog = new LakeCatalog(stack, 'Catalog', { bucket: lake.bucket });
  const workgroup = new AnalyticsWorkgroup(stack, 'Workgroup', {
    bucket: lake.bucket,
    database: catalog.database,
  });
  const rawLanding = new RawLanding(stack, 'RawLanding', { stream: ingest.stream, bucket: lake.bucket });
  const batchJob = new sfn.StateMachine(stack, 'BatchJob', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Build')),
  });
  return {
    stack,
    ingest,
    processor,
    aggregates,
    alerts,
    lake,
    catalog,
    workgroup,
    rawLanding,
    ops,
    batchJob,
  };
}

/** The reconciliation function watching the fixture's resources. */
export function addReconciliation(
  f: OpsFixture,
  overrides: Partial<ReconciliationProps> = {},
): Reconciliation {
  return new Reconciliation(f.stack, 'Reconciliation', {
    table: f.aggregates.table,
    bucket: f.lake.bucket,
    catalog: f.catalog,
    workgroup: f.workgroup,
    batchJob: f.batchJob,
    stage: FIXTURE_STAGE,
    ...overrides,
  });
}

/** The ops alarms over the fixture's resources and `reconciliation`. */
export function addOpsAlarms(
  f: OpsFixture,
  reconciliation: Reconciliation,
  overrides: Partial<OpsAlarmsProps> = {},
): OpsAlarms {
  return new OpsAlarms(f.stack, 'OpsAlarms', {
    topic: f.ops.topic,
    processor: f.processor,
    deadLetterQueue: f.processor.deadLetterQueue,
    table: f.aggregates.table,
    deliveryStream: f.rawLanding.deliveryStream,
    batchJob: f.batchJob,
    reconciliation,
    ...overrides,
  });
}
