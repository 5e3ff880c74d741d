import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ConfigError,
  DEFAULT_CONFIG,
  loadConfig,
  resolveConfig,
  toSpeedConfig,
} from '../../../contract/config';
import { speedProcessors } from '../../../contract/speed-processors';

const EXAMPLE_CONFIG = path.join(__dirname, '..', '..', '..', 'examples', 'sluice.config.json');

/** The ConfigError thrown for `partial`, or a failure if it is accepted. */
function configError(partial: unknown): ConfigError {
  try {
    resolveConfig(partial);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`config was accepted: ${JSON.stringify(partial)}`);
}

function rule(overrides: object): object {
  return { ...DEFAULT_CONFIG.alertRules[0], ...overrides };
}

describe('config defaults', () => {
  test('an empty config is the defaults', () => {
    expect(resolveConfig({})).toEqual(DEFAULT_CONFIG);
  });

  test('a partial section keeps the defaults of the fields it leaves out', () => {
    const config = resolveConfig({ processor: { batchSize: 100 } });

    expect(config.processor).toEqual({ ...DEFAULT_CONFIG.processor, batchSize: 100 });
  });

  test('a partial alertProcessor keeps the defaults of the fields it leaves out', () => {
    const config = resolveConfig({ alertProcessor: { enabled: false } });

    expect(config.alertProcessor).toEqual({ ...DEFAULT_CONFIG.alertProcessor, enabled: false });
    expect(config.processor).toEqual(DEFAULT_CONFIG.processor);
  });

  test('the aggregate processor batches for 45 s, up to 10000 records; the alert processor does not wait', () => {
    expect(DEFAULT_CONFIG.processor).toMatchObject({ batchSize: 10_000, maxBatchingWindow: '45s' });
    expect(DEFAULT_CONFIG.alertProcessor).toEqual({
      enabled: true,
      batchSize: 500,
      maxBatchingWindow: '0s',
      parallelizationFactor: 1,
      retryAttempts: 5,
      maxRecordAge: '1h',
      memorySize: 512,
      timeout: '60s',
    });
  });

  test('a list replaces the default list instead of merging into it', () => {
    const config = resolveConfig({ windows: [{ name: '10s', size: '10s' }], alertRules: [] });

    expect(config.windows).toEqual([{ name: '10s', size: '10s' }]);
  });
});

describe('config validation', () => {
  test('rejects a hop larger than its window, naming windows[1].hop and the value', () => {
    const error = configError({
      windows: [
        { name: '1m', size: '1m' },
        { name: '5m', size: '5m', hop: '10m' },
      ],
    });

    expect(error.issues).toContain('windows[1].hop: got "10m"; must not be larger than size (5m)');
  });

  test('rejects a hop that does not divide its window', () => {
    const error = configError({ windows: [{ name: '5m', size: '5m', hop: '2m' }], alertRules: [] });

    expect(error.issues).toContain('windows[0].hop: got "2m"; must divide size (5m) exactly');
  });

  test('rejects an unknown alert operator, listing the allowed ones', () => {
    const error = configError({ alertRules: [rule({ op: '!=' })] });

    expect(error.issues).toContain('alertRules[0].op: got "!="; must be one of ">", ">=", "<", "<="');
  });

  test('rejects a threshold that is not a number', () => {
    const error = configError({ alertRules: [rule({ threshold: 'hot' })] });

    expect(error.issues).toContain('alertRules[0].threshold: got "hot"; must be a finite number');
  });

  test('rejects an alert rule whose source is not a configured window', () => {
    const error = configError({ alertRules: [rule({ source: '15m', aggregate: 'avg' })] });

    expect(error.issues).toContain(
      'alertRules[0].source: got "15m"; must be one of "value", "1m", "5m", "1h"',
    );
  });

  test('rejects an unknown field, listing the known ones', () => {
    const error = configError({ procesor: { batchSize: 10 } });

    expect(error.issues[0]).toMatch(/^procesor: unknown field; allowed fields are stage, stream, windows,/);
  });

  test('rejects a batch size above 10000', () => {
    const error = configError({ processor: { batchSize: 20_000 } });

    expect(error.issues).toContain(
      'processor.batchSize: got 20000; must be an integer between 1 and 10000 inclusive',
    );
  });

  test('rejects a batching window that is not whole seconds', () => {
    const error = configError({ processor: { maxBatchingWindow: '1500ms' } });

    expect(error.issues).toContain(
      'processor.maxBatchingWindow: got "1500ms"; must be a whole number of seconds (AWS takes this setting in seconds)',
    );
  });

  test('checks alertProcessor against the same event source limits as processor', () => {
    const error = configError({
      alertProcessor: { batchSize: 0, maxBatchingWindow: '301s', memorySize: 64 },
    });

    expect(error.issues).toEqual([
      'alertProcessor.batchSize: got 0; must be an integer between 1 and 10000 inclusive',
      'alertProcessor.maxBatchingWindow: got "301s"; must be a duration like "30s", "5m" or "1h" between 0ms and 5m',
      'alertProcessor.memorySize: got 64; must be an integer between 128 and 10240 inclusive',
    ]);
  });

  test('rejects an alertProcessor.enabled that is not a boolean', () => {
    const error = configError({ alertProcessor: { enabled: 'yes' } });

    expect(error.issues).toEqual(['alertProcessor.enabled: got "yes"; must be one of true, false']);
  });

  test('rejects an unknown alertProcessor field, listing the known ones', () => {
    const error = configError({ alertProcessor: { batchsize: 10 } });

    expect(error.issues[0]).toMatch(
      /^alertProcessor\.batchsize: unknown field; allowed fields are enabled, batchSize/,
    );
  });

  test('rejects a stream retention that is not whole hours', () => {
    const error = configError({ stream: { retention: '1470m' } });

    expect(error.issues).toContain(
      'stream.retention: got "1470m"; must be a whole number of hours (AWS takes this setting in hours)',
    );
  });

  test('the repair runs every 15 minutes by default; its schedule is whole minutes from 1m to 1d', () => {
    expect(resolveConfig({}).repair).toEqual({ schedule: '15m' });
    expect(resolveConfig({ repair: { schedule: '1h' } }).repair.schedule).toBe('1h');
    expect(configError({ repair: { schedule: '90s' } }).issues).toEqual([
      'repair.schedule: got "90s"; must be a whole number of minutes (AWS takes this setting in minutes)',
    ]);
    expect(configError({ repair: { schedule: '2d' } }).issues).toEqual([
      'repair.schedule: got "2d"; must be a duration like "30s", "5m" or "1h" between 1m and 1d',
    ]);
    expect(configError({ repair: { every: '5m' } }).issues).toEqual([
      'repair.every: unknown field; allowed fields are schedule',
    ]);
  });

  test('the default stream is provisioned with 5 shards (cheapest for the cost workload: docs/cost.md)', () => {
    expect(resolveConfig({}).stream).toEqual({
      mode: 'provisioned',
      shardCount: 5,
      retention: '24h',
      kplAggregation: false,
    });
    expect(resolveConfig({ stream: { shardCount: 13 } }).stream.shardCount).toBe(13);
  });

  test('the aggregates table is provisioned under auto scaling by default; bad capacity settings name the field', () => {
    expect(resolveConfig({}).aggregatesTable).toEqual({
      billingMode: 'provisioned',
      writeCapacity: { min: 5, max: 40_000 },
      readCapacity: { min: 5, max: 40_000 },
      targetUtilization: 0.7,
    });
    expect(resolveConfig({ aggregatesTable: { billingMode: 'on-demand' } }).aggregatesTable.billingMode).toBe(
      'on-demand',
    );
    const error = configError({
      aggregatesTable: {
        billingMode: 'reserved',
        writeCapacity: { min: 100, max: 50 },
        readCapacity: 5,
        targetUtilization: 0.95,
      },
    });

    expect(error.issues).toEqual([
      'aggregatesTable.billingMode: got "reserved"; must be one of "provisioned", "on-demand"',
      'aggregatesTable.writeCapacity.max: got 50; must be an integer between 100 and 40000 inclusive',
      'aggregatesTable.readCapacity: got 5; must be an object {min, max}',
      'aggregatesTable.targetUtilization: got 0.95; must be a number from 0.2 to 0.9',
    ]);
  });

  test('choosing on-demand drops the default shard count, and takes none of its own', () => {
    expect(resolveConfig({ stream: { mode: 'on-demand' } }).stream).toEqual({
      mode: 'on-demand',
      retention: '24h',
      kplAggregation: false,
    });
    const error = configError({ stream: { mode: 'on-demand', shardCount: 2 } });

    expect(error.issues).toContain(
      'stream.shardCount: got 2; is only allowed with stream.mode "provisioned"',
    );
  });

  test('rejects a section that is not an object without crashing', () => {
    const error = configError({ processor: null });

    expect(error.issues).toContain('processor: got null; must be an object');
  });

  test('reports every problem at once', () => {
    const error = configError({ stage: 'Prod', logRetentionDays: 10, processor: { retryAttempts: -1 } });

    expect(error.issues).toHaveLength(3);
    expect(error.message).toMatch(/^Invalid Sluice config:\n {2}- stage: got "Prod"/);
  });

  test('is a typed error with a name', () => {
    const error = configError({ stage: '' });

    expect(error.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(Error);
  });
});

describe('config files', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-config-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('without a file, the default file name is read from the working directory', () => {
    fs.writeFileSync(path.join(dir, 'sluice.config.json'), JSON.stringify({ stage: 'fromfile' }));

    expect(loadConfig(undefined, dir).stage).toBe('fromfile');
  });

  test('a missing default file means all defaults', () => {
    expect(loadConfig(undefined, dir)).toEqual(DEFAULT_CONFIG);
  });

  test('a missing file given by name is an error naming the file', () => {
    expect(() => loadConfig('nope.json', dir)).toThrow(
      `config file ${path.join(dir, 'nope.json')} does not exist`,
    );
  });

  test('a file given by name is resolved against the working directory', () => {
    fs.writeFileSync(path.join(dir, 'custom.json'), JSON.stringify({ processor: { retryAttempts: 7 } }));

    expect(loadConfig('custom.json', dir).processor.retryAttempts).toBe(7);
  });

  test('a file that is not JSON is an error naming the file', () => {
    fs.writeFileSync(path.join(dir, 'broken.json'), '{ stage: dev');

    expect(() => loadConfig('broken.json', dir)).toThrow(/broken\.json is not valid JSON/);
  });

  test('errors from a file name the file', () => {
    fs.writeFileSync(
      path.join(dir, 'bad.json'),
      JSON.stringify({ processor: { parallelizationFactor: 11 } }),
    );

    expect(() => loadConfig('bad.json', dir)).toThrow(
      /Invalid Sluice config \(bad\.json\):\n {2}- processor\.parallelizationFactor: got 11; must be an integer between 1 and 10 inclusive/,
    );
  });

  test('the example config in examples/ is valid', () => {
    expect(loadConfig(EXAMPLE_CONFIG).stage).toBe('prod');
  });
});

describe('KPL aggregation and the parallelization factor', () => {
  test('stream.kplAggregation true fails with a processor parallelization factor above 1, naming both', () => {
    expect(() =>
      resolveConfig({ stream: { kplAggregation: true }, alertProcessor: { parallelizationFactor: 3 } }),
    ).toThrow(/alertProcessor\.parallelizationFactor: got 3; must be 1 with stream\.kplAggregation true/);
  });

  test('stream.kplAggregation true is valid at factor 1, false at any factor', () => {
    expect(resolveConfig({ stream: { kplAggregation: true } }).stream.kplAggregation).toBe(true);
    expect(resolveConfig({ processor: { parallelizationFactor: 4 } }).stream.kplAggregation).toBe(false);
  });

  test('stream.kplAggregation must be a boolean', () => {
    expect(() => resolveConfig({ stream: { kplAggregation: 'yes' } })).toThrow(
      /stream\.kplAggregation: got "yes"/,
    );
  });
});

describe('speed config', () => {
  test("gives each processor its own mapping's parallelization factor", () => {
    const config = resolveConfig({
      processor: { parallelizationFactor: 4 },
      alertProcessor: { parallelizationFactor: 2 },
    });

    expect(toSpeedConfig(config).parallelizationFactor).toBe(4);
    expect(toSpeedConfig(config, 'alertProcessor').parallelizationFactor).toBe(2);
  });

  test('carries durations in milliseconds and makes a window without hop tumbling', () => {
    const speed = toSpeedConfig(resolveConfig({ windows: [{ name: '10s', size: '10s' }], alertRules: [] }));

    expect(speed.windows).toEqual([{ name: '10s', sizeMs: 10_000, hopMs: 10_000 }]);
    expect(speed.latenessMs).toBe(86_400_000);
    expect(speed.aggregateTtlMs).toBe(7 * 86_400_000);
  });
});

describe('speed processors', () => {
  test('by default: the aggregate processor in role aggregates, and the alert processor', () => {
    const plans = speedProcessors(resolveConfig({}));

    expect(plans.map((p) => [p.section, p.role])).toEqual([
      ['processor', 'aggregates'],
      ['alertProcessor', 'alerts'],
    ]);
  });

  test('alertProcessor.enabled false: the aggregate processor alone, in role all', () => {
    const plans = speedProcessors(resolveConfig({ alertProcessor: { enabled: false } }));

    expect(plans.map((p) => [p.section, p.role])).toEqual([['processor', 'all']]);
  });

  test('no value rules: no alert processor (it would have nothing to do), role all', () => {
    const windowRule = rule({ id: 'avg', source: '5m', aggregate: 'avg' });
    const plans = speedProcessors(resolveConfig({ alertRules: [windowRule] }));

    expect(plans.map((p) => [p.section, p.role])).toEqual([['processor', 'all']]);
  });
});
