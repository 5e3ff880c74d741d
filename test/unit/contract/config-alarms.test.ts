import { ConfigError, DEFAULT_CONFIG, resolveConfig } from '../../../contract/config';

/** The problems reported for `partial`, or a failure if it is accepted. */
function issues(partial: object): readonly string[] {
  try {
    resolveConfig(partial);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error(`config was accepted: ${JSON.stringify(partial)}`);
}

describe('alarms config', () => {
  test('defaults every threshold', () => {
    expect(resolveConfig({}).alarms).toEqual({
      runbookUrl: '',
      iteratorAge: '5m',
      processorErrors: 5,
      firehoseDataFreshness: '15m',
      dynamoDbThrottles: 10,
      invalidEventRatio: 0.05,
      reconciliationDrift: 0.05,
    });
  });

  test('a partial alarms section keeps the other defaults', () => {
    const config = resolveConfig({ alarms: { iteratorAge: '2m' } });

    expect(config.alarms).toEqual({ ...DEFAULT_CONFIG.alarms, iteratorAge: '2m' });
  });

  test('rejects an iterator age under a minute, naming field, value and range', () => {
    expect(issues({ alarms: { iteratorAge: '30s' } })).toEqual([
      'alarms.iteratorAge: got "30s"; must be a duration like "30s", "5m" or "1h" between 1m and 7d',
    ]);
  });

  test('rejects an invalid-event ratio of 0', () => {
    expect(issues({ alarms: { invalidEventRatio: 0 } })).toEqual([
      'alarms.invalidEventRatio: got 0; must be a number above 0 and at most 1',
    ]);
  });

  test('accepts an invalid-event ratio of exactly 1', () => {
    expect(resolveConfig({ alarms: { invalidEventRatio: 1 } }).alarms.invalidEventRatio).toBe(1);
  });

  test('rejects a Firehose freshness threshold not longer than the buffer interval', () => {
    expect(issues({ firehose: { bufferInterval: '300s' }, alarms: { firehoseDataFreshness: '5m' } })).toEqual(
      [
        'alarms.firehoseDataFreshness: got "5m"; must be longer than firehose.bufferInterval (300s), or every buffered record would alarm',
      ],
    );
  });

  test('rejects a processor error threshold of 0', () => {
    expect(issues({ alarms: { processorErrors: 0 } })).toEqual([
      'alarms.processorErrors: got 0; must be an integer between 1 and 1000000 inclusive',
    ]);
  });

  test('rejects a DynamoDB throttle threshold that is not an integer', () => {
    expect(issues({ alarms: { dynamoDbThrottles: 2.5 } })).toEqual([
      'alarms.dynamoDbThrottles: got 2.5; must be an integer between 1 and 1000000 inclusive',
    ]);
  });

  test('rejects a reconciliation drift threshold of 0', () => {
    expect(issues({ alarms: { reconciliationDrift: 0 } })).toEqual([
      'alarms.reconciliationDrift: got 0; must be a number above 0 and at most 2',
    ]);
  });

  test('accepts an https runbook URL', () => {
    const url = 'https://github.com/example/sluice/blob/main/docs/runbook.md';

    expect(resolveConfig({ alarms: { runbookUrl: url } }).alarms.runbookUrl).toBe(url);
  });

  test('rejects a runbook URL that is not http(s)', () => {
    expect(issues({ alarms: { runbookUrl: 'docs/runbook.md' } })).toEqual([
      'alarms.runbookUrl: got "docs/runbook.md"; must be "" or an http(s) URL',
    ]);
  });

  test('rejects an unknown alarms field, listing the allowed ones', () => {
    expect(issues({ alarms: { lambdaErrors: 1 } })[0]).toMatch(
      /^alarms\.lambdaErrors: unknown field; allowed fields are runbookUrl, iteratorAge, /,
    );
  });

  test('rejects an alarms section that is not an object', () => {
    expect(issues({ alarms: 5 })).toContain('alarms: got 5; must be an object');
  });
});

describe('reconciliation config', () => {
  test('defaults to a rounding-level tolerance and 20 listed differences', () => {
    expect(resolveConfig({}).reconciliation).toEqual({ tolerance: 1e-6, maxDifferences: 20 });
  });

  test('accepts a tolerance of 0 (exact comparison)', () => {
    expect(resolveConfig({ reconciliation: { tolerance: 0 } }).reconciliation.tolerance).toBe(0);
  });

  test('rejects a tolerance of 1, which would hide every difference', () => {
    expect(issues({ reconciliation: { tolerance: 1 } })).toEqual([
      'reconciliation.tolerance: got 1; must be a number from 0 up to (not including) 1',
    ]);
  });

  test('rejects more than 1000 listed differences', () => {
    expect(issues({ reconciliation: { maxDifferences: 1001 } })).toEqual([
      'reconciliation.maxDifferences: got 1001; must be an integer between 0 and 1000 inclusive',
    ]);
  });
});
