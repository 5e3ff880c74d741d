import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { addSluice } from '../../lib/sluice-app';
import { resolveConfig } from '../../contract/config';
import { appContext, synthSluice } from './synth';

interface Acknowledgement {
  readonly construct: IConstruct;
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          construct,
          path: construct.node.path,
          id,
          reason,
        })),
      ),
  );
}

function withTempOutdir<T>(run: (outdir: string) => T): T {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-nag-'));
  try {
    return run(outdir);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('cdk-nag AwsSolutions checks', () => {
  test('find nothing unacknowledged in the default deployment', () => {
    const { app } = synthSluice();

    const report = new AwsSolutionsChecks().validateScope(app);

    expect(
      report.violations.map(
        (v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });

  test('find nothing unacknowledged in a provisioned deployment with custom settings', () => {
    const { app } = synthSluice({
      stage: 'prod',
      stream: { mode: 'provisioned', shardCount: 4, retention: '7d' },
      processor: { parallelizationFactor: 4, retryAttempts: 2 },
    });

    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
  });

  test('find nothing unacknowledged without the alert processor (one processor in role all)', () => {
    const { app, stack } = synthSluice({ alertProcessor: { enabled: false } });

    expect(stack.alertProcessor).toBeUndefined();
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
  });

  test('run at synth, which succeeds for the app', () => {
    withTempOutdir((outdir) => {
      const app = new App({ context: appContext(), outdir });
      addSluice(app, resolveConfig({}));

      const assembly = app.synth();

      expect(assembly.getStackByName('Sluice-dev').template).toHaveProperty('Resources');
    });
  });

  test('run at synth and fail it on an unacknowledged finding', () => {
    withTempOutdir((outdir) => {
      const app = new App({ context: appContext(), outdir });
      const stack = addSluice(app, resolveConfig({}));
      new sqs.Queue(stack, 'UnencryptedQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });

      expect(() => app.synth()).toThrow(/AwsSolutions-SQS2/);
      const report = fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8');
      expect(report).toContain('AwsSolutions-SQS2');
    });
  });

  test('acknowledgements sit on individual resources, never on the stack or the app', () => {
    const { app } = synthSluice();

    const acknowledged = acknowledgements(app).map((a) => a.construct);

    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.filter((c) => Stack.isStack(c) || c === app)).toEqual([]);
  });

  test('every acknowledgement names a specific rule or finding and gives a reason', () => {
    const { app } = synthSluice();

    for (const { id, reason } of acknowledgements(app)) {
      expect(id).toMatch(/^(annotation::)?AwsSolutions-[A-Z]+\d+(\[.+\])?$/i);
      expect(reason.length).toBeGreaterThan(40);
    }
  });

  test('the acknowledged findings are exactly the expected ones', () => {
    const { app } = synthSluice();

    const ids = acknowledgements(app)
      .map((a) => `${a.path.replace(/^Sluice-dev\//, '')} ${a.id.replace(/^annotation::/i, '')}`)
      .sort();

    expect(ids).toEqual([
      'AlertProcessor/DeadLetterQueue AwsSolutions-SQS3',
      'AlertProcessor/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'BatchJob/StateMachine AwsSolutions-SF2',
      'BatchJob/StateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'BatchJob/StateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      'BatchJob/StateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:Abort*]',
      'BatchJob/StateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'BatchJob/StateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'BatchJob/StateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:GetObject*]',
      'BatchJob/StateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:List*]',
      'BatchJob/StateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Resource::*]',
      expect.stringMatching(
        /^BatchJob\/StateMachine\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/athena-results\/\*\]$/,
      ),
      expect.stringMatching(
        /^BatchJob\/StateMachine\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/curated\/events\/\*\]$/,
      ),
      expect.stringMatching(
        /^BatchJob\/StateMachine\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/curated\/sensor_stats_daily\/\*\]$/,
      ),
      expect.stringMatching(
        /^BatchJob\/StateMachine\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/curated\/sensor_stats_hourly\/\*\]$/,
      ),
      expect.stringMatching(
        /^BatchJob\/StateMachine\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/raw\/\*\]$/,
      ),
      'DataLake/AccessLogs AwsSolutions-S1',
      'RawLanding/DeliveryStream AwsSolutions-KDF1',
      'RawLanding/DeliveryStream/S3 Destination Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'RawLanding/DeliveryStream/S3 Destination Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      'RawLanding/DeliveryStream/S3 Destination Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:Abort*]',
      'RawLanding/DeliveryStream/S3 Destination Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'RawLanding/DeliveryStream/S3 Destination Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'RawLanding/DeliveryStream/S3 Destination Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:GetObject*]',
      'RawLanding/DeliveryStream/S3 Destination Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:List*]',
      expect.stringMatching(
        /^RawLanding\/DeliveryStream\/S3 Destination Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/\*\]$/,
      ),
      'Reconciliation/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'Reconciliation/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      'Reconciliation/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:Abort*]',
      'Reconciliation/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'Reconciliation/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'Reconciliation/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:GetObject*]',
      'Reconciliation/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:List*]',
      expect.stringMatching(
        /^Reconciliation\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/athena-results\/\*\]$/,
      ),
      expect.stringMatching(
        /^Reconciliation\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/curated\/sensor_stats_hourly\/\*\]$/,
      ),
      expect.stringMatching(
        /^Reconciliation\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/reports\/reconciliation\/\*\]$/,
      ),
      'SpeedExport/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'SpeedExport/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      'SpeedExport/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:Abort*]',
      expect.stringMatching(
        /^SpeedExport\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/speed\/hourly\/\*\]$/,
      ),
      expect.stringMatching(
        /^SpeedExport\/SchedulerRole\/DefaultPolicy AwsSolutions-IAM5\[Resource::<SpeedExportFunction[0-9A-F]{8}\.Arn>:\*\]$/,
      ),
      'SpeedRepair/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'SpeedRepair/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      'SpeedRepair/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:Abort*]',
      expect.stringMatching(
        /^SpeedRepair\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/quarantine\/\*\]$/,
      ),
      'StreamProcessor/DeadLetterQueue AwsSolutions-SQS3',
      'StreamProcessor/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'StreamProcessor/Role/DefaultPolicy AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      'StreamProcessor/Role/DefaultPolicy AwsSolutions-IAM5[Action::s3:Abort*]',
      expect.stringMatching(
        /^StreamProcessor\/Role\/DefaultPolicy AwsSolutions-IAM5\[Resource::<DataLakeBucket[0-9A-F]{8}\.Arn>\/quarantine\/\*\]$/,
      ),
    ]);
  });
});
