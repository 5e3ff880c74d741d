/**
 * A bare stack holding what the batch-layer constructs are wired to in the Sluice stack (the lake,
 * the ingest stream, the ops topic), for testing those constructs on their own.
 */
import type { App, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { DataLake } from '../../lib/data-lake';
import { IngestStream } from '../../lib/ingest-stream';
import { OpsTopic } from '../../lib/ops-topic';
import { newStack } from './synth';

export interface BatchFixtures {
  readonly app: App;
  readonly stack: Stack;
  readonly lake: DataLake;
  readonly ingest: IngestStream;
  readonly ops: OpsTopic;
}

export function batchFixtures(): BatchFixtures {
  const stack = newStack();
  return {
    app: stack.node.root as App,
    stack,
    lake: new DataLake(stack, 'DataLake'),
    ingest: new IngestStream(stack, 'IngestStream'),
    ops: new OpsTopic(stack, 'OpsTopic'),
  };
}

/** cdk-nag AwsSolutions findings (unacknowledged) on resources under `scope`. */
export function nagFindings(app: App, scope: IConstruct): string[] {
  const prefix = `${scope.node.path}/`;
  return new AwsSolutionsChecks()
    .validateScope(app)
    .violations.flatMap((v) =>
      v.violatingResources
        .filter((r) => (r.constructPath ?? '').startsWith(prefix))
        .map((r) => `${v.ruleName} ${r.constructPath}`),
    );
}
