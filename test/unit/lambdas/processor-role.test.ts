/**
 * The same handler runs as the aggregate processor and as the alert processor: the role comes from
 * `SLUICE_PROCESSOR_ROLE` when deployed, and decides which AWS calls a batch makes.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { resolveConfig, toSpeedConfig } from '../../../contract/config';
import { ALERT_PROCESSOR_SERVICE } from '../../../contract/metric-names';
import { pipelineMetrics } from '../../../lambdas/adapters/pipeline-metrics';
import { createHandler, roleFromEnvironment } from '../../../lambdas/stream-processor/handler';
import type { ProcessorRole } from '../../../core/speed-config';
import { kinesisEvent, sensorEvent } from '../../helpers/factories';
import { InMemoryAws } from '../../helpers/in-memory-aws';

describe('roleFromEnvironment', () => {
  test.each(['all', 'aggregates', 'alerts'])('reads role %s', (role) => {
    expect(roleFromEnvironment({ SLUICE_PROCESSOR_ROLE: role })).toBe(role);
  });

  test('fails on an unknown role, naming the value and the roles allowed', () => {
    expect(() => roleFromEnvironment({ SLUICE_PROCESSOR_ROLE: 'alert' })).toThrow(
      'Environment variable SLUICE_PROCESSOR_ROLE is "alert"; it must be one of all, aggregates, alerts',
    );
  });

  test('fails when unset', () => {
    expect(() => roleFromEnvironment({})).toThrow(/SLUICE_PROCESSOR_ROLE is not set/);
  });
});

describe('createHandler by role', () => {
  const NOW = Date.parse('2026-11-21T10:00:05Z');
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';

  function handlerFor(role: ProcessorRole, lakeBucket: string | undefined) {
    const aws = new InMemoryAws({
      tableName: 'aggregates',
      topicArn: 'arn:aws:sns:::alerts',
      bucket: 'lake',
    });
    const handler = createHandler({
      dynamodb: aws.dynamodb,
      sns: aws.sns,
      s3: aws.s3,
      tableName: 'aggregates',
      alertsTopicArn: 'arn:aws:sns:::alerts',
      lakeBucket,
      role,
      config: toSpeedConfig(resolveConfig({})),
      now: () => NOW,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: pipelineMetrics(ALERT_PROCESSOR_SERVICE, 'test'),
    });
    return { aws, handler };
  }

  const hotAndInvalid = () =>
    kinesisEvent([
      { data: sensorEvent({ value: 35, timestamp: '2026-11-21T10:00:00Z' }) },
      { data: 'not json' },
    ]);

  test('alerts: publishes the value alert, writes nothing to S3 and updates only the alert item', async () => {
    const { aws, handler } = handlerFor('alerts', undefined);

    const response = await handler(hotAndInvalid());

    expect(response.batchItemFailures).toEqual([]);
    expect(aws.published).toHaveLength(1);
    expect([...aws.calls.keys()].filter((c) => c.startsWith('Put'))).toEqual([]);
    expect(aws.calls.get('UpdateItemCommand')).toBe(2); // record the alert, then clear it as pending
  });

  test('aggregates: quarantines the invalid record and publishes no value alert', async () => {
    const { aws, handler } = handlerFor('aggregates', 'lake');

    await handler(hotAndInvalid());

    expect(aws.published).toEqual([]);
    expect(aws.calls.get('PutObjectCommand')).toBe(1);
  });

  test('a role that quarantines needs a lake bucket', () => {
    expect(() => handlerFor('aggregates', undefined)).toThrow(/role aggregates needs lakeBucket/);
  });
});
