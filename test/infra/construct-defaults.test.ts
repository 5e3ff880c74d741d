/**
 * A construct prop's documented `@default` is what a user reads; the value the construct uses comes
 * from `DEFAULT_CONFIG` (contract/config.ts). This test reads the `@default` JSDoc tags of the
 * props interfaces and checks each against the config default it stands for, so the two cannot
 * drift (as `maxBatchingWindow` once did: documented 1s, defaulting to 0s).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { DEFAULT_CONFIG, durationMs } from '../../contract/config';

const ROOT = path.join(__dirname, '..', '..');
const c = DEFAULT_CONFIG;

/** The `@default` text of every property of interface `name` in `file`. */
function documentedDefaults(file: string, name: string): Map<string, string> {
  const source = ts.createSourceFile(
    file,
    fs.readFileSync(path.join(ROOT, file), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const declaration = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (!declaration) throw new Error(`${file} has no interface ${name}`);
  const defaults = new Map<string, string>();
  for (const member of declaration.members) {
    if (!ts.isPropertySignature(member)) continue;
    const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
    if (tag) defaults.set(member.name.getText(source), ts.getTextOfJSDocComment(tag.comment) ?? '');
  }
  return defaults;
}

const UNIT_MS = { millis: 1, seconds: 1_000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 };

/** A documented default as a plain value: durations in ms, sizes in MiB, byte counts in bytes. */
function valueOf(text: string): string | number {
  const duration = /^Duration\.(millis|seconds|minutes|hours|days)\(([\d.]+)\)/.exec(text);
  if (duration) return Number(duration[2]) * UNIT_MS[duration[1] as keyof typeof UNIT_MS];
  const mebibytes = /^Size\.mebibytes\((\d+)\)/.exec(text);
  if (mebibytes) return Number(mebibytes[1]);
  const gibibytes = /^(\d+) GiB\b/.exec(text);
  if (gibibytes) return Number(gibibytes[1]) * 1024 ** 3;
  const quoted = /^'([^']*)'/.exec(text);
  if (quoted) return quoted[1];
  const number = /^-?[\d.]+(e-?\d+)?(?=\s|$)/.exec(text);
  if (number) return Number(number[0]);
  throw new Error(`cannot read @default ${JSON.stringify(text)}`);
}

const ms = durationMs;

/** [file, props interface, prop, the config default it must equal (durations in ms)]. */
const CASES: readonly (readonly [string, string, string, string | number])[] = [
  ['lib/stream-processor.ts', 'StreamProcessorProps', 'batchSize', c.processor.batchSize],
  ['lib/stream-processor.ts', 'StreamProcessorProps', 'maxBatchingWindow', ms(c.processor.maxBatchingWindow)],
  [
    'lib/stream-processor.ts',
    'StreamProcessorProps',
    'parallelizationFactor',
    c.processor.parallelizationFactor,
  ],
  ['lib/stream-processor.ts', 'StreamProcessorProps', 'retryAttempts', c.processor.retryAttempts],
  ['lib/stream-processor.ts', 'StreamProcessorProps', 'maxRecordAge', ms(c.processor.maxRecordAge)],
  ['lib/stream-processor.ts', 'StreamProcessorProps', 'memorySize', c.processor.memorySize],
  ['lib/stream-processor.ts', 'StreamProcessorProps', 'timeout', ms(c.processor.timeout)],
  ['lib/ingest-stream.ts', 'IngestStreamProps', 'retention', ms(c.stream.retention)],
  ['lib/data-lake.ts', 'DataLakeProps', 'rawInfrequentAccessAfterDays', c.lake.rawInfrequentAccessAfterDays],
  ['lib/data-lake.ts', 'DataLakeProps', 'rawExpireAfterDays', c.lake.rawExpireAfterDays],
  ['lib/data-lake.ts', 'DataLakeProps', 'quarantineExpireAfterDays', c.lake.quarantineExpireAfterDays],
  ['lib/data-lake.ts', 'DataLakeProps', 'athenaResultsExpireAfterDays', c.lake.athenaResultsExpireAfterDays],
  ['lib/raw-landing.ts', 'RawLandingProps', 'bufferInterval', ms(c.firehose.bufferInterval)],
  ['lib/raw-landing.ts', 'RawLandingProps', 'bufferSize', c.firehose.bufferSizeMiB],
  ['lib/batch-job.ts', 'BatchJobProps', 'schedule', c.batch.schedule],
  ['lib/speed-repair.ts', 'SpeedRepairProps', 'schedule', ms(c.repair.schedule)],
  ['lib/batch-job.ts', 'BatchJobProps', 'maxClockSkew', ms(c.maxClockSkew)],
  [
    'lib/analytics-workgroup.ts',
    'AnalyticsWorkgroupProps',
    'bytesScannedCutoffPerQuery',
    c.batch.bytesScannedCutoffPerQuery,
  ],
  ['lib/ops-alarms.ts', 'OpsAlarmThresholds', 'iteratorAge', ms(c.alarms.iteratorAge)],
  ['lib/ops-alarms.ts', 'OpsAlarmThresholds', 'processorErrors', c.alarms.processorErrors],
  ['lib/ops-alarms.ts', 'OpsAlarmThresholds', 'firehoseDataFreshness', ms(c.alarms.firehoseDataFreshness)],
  ['lib/ops-alarms.ts', 'OpsAlarmThresholds', 'dynamoDbThrottles', c.alarms.dynamoDbThrottles],
  ['lib/ops-alarms.ts', 'OpsAlarmThresholds', 'invalidEventRatio', c.alarms.invalidEventRatio],
  ['lib/ops-alarms.ts', 'OpsAlarmThresholds', 'reconciliationDrift', c.alarms.reconciliationDrift],
  ['lib/reconciliation.ts', 'ReconciliationProps', 'aggregateTtl', ms(c.aggregateTtl)],
  ['lib/reconciliation.ts', 'ReconciliationProps', 'lateness', ms(c.lateness)],
  ['lib/reconciliation.ts', 'ReconciliationProps', 'tolerance', c.reconciliation.tolerance],
  ['lib/reconciliation.ts', 'ReconciliationProps', 'maxDifferences', c.reconciliation.maxDifferences],
];

test.each(CASES)('%s %s.%s documents the config default', (file, name, prop, configDefault) => {
  const documented = documentedDefaults(file, name).get(prop);

  expect(documented).toBeDefined();
  expect(valueOf(documented as string)).toBe(configDefault);
});

/** The stream processor's props document a second default for role 'alerts': `<default> (<alerts default> for role 'alerts')`. */
const ALERT_CASES: readonly (readonly [string, string | number])[] = [
  ['batchSize', c.alertProcessor.batchSize],
  ['maxBatchingWindow', ms(c.alertProcessor.maxBatchingWindow)],
  ['parallelizationFactor', c.alertProcessor.parallelizationFactor],
  ['retryAttempts', c.alertProcessor.retryAttempts],
  ['maxRecordAge', ms(c.alertProcessor.maxRecordAge)],
  ['memorySize', c.alertProcessor.memorySize],
  ['timeout', ms(c.alertProcessor.timeout)],
];

test.each(ALERT_CASES)(
  "StreamProcessorProps.%s documents the alertProcessor default for role 'alerts'",
  (prop, configDefault) => {
    const documented = documentedDefaults('lib/stream-processor.ts', 'StreamProcessorProps').get(prop) ?? '';
    const alerts = / \((\S+) for role 'alerts'\)$/.exec(documented);

    expect(alerts).not.toBeNull();
    expect(valueOf((alerts as RegExpExecArray)[1])).toBe(configDefault);
  },
);

test('reads each kind of documented default', () => {
  expect([
    valueOf('Duration.seconds(1)'),
    valueOf('Duration.hours(24)'),
    valueOf('Size.mebibytes(64)'),
    valueOf('10 GiB'),
    valueOf("'cron(0 2 * * ? *)' (02:00 UTC)"),
    valueOf('1e-6'),
    valueOf('500'),
  ]).toEqual([1_000, 86_400_000, 64, 10 * 1024 ** 3, 'cron(0 2 * * ? *)', 1e-6, 500]);
});
