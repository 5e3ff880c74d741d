import * as fs from 'node:fs';
import * as path from 'node:path';
import { durationMs, loadConfig } from '../../../contract/config';
import { speedProcessors } from '../../../contract/speed-processors';

const EXAMPLES_DIR = path.join(__dirname, '..', '..', '..', 'examples');
const EXAMPLE_FILES = fs
  .readdirSync(EXAMPLES_DIR)
  .filter((name) => name.endsWith('.json'))
  .sort();

describe('example configs', () => {
  test.each(EXAMPLE_FILES)('%s is accepted by loadConfig', (name) => {
    expect(() => loadConfig(path.join(EXAMPLES_DIR, name))).not.toThrow();
  });

  test('the fresh profile runs one processor doing everything, with no batching window', () => {
    const config = loadConfig(path.join(EXAMPLES_DIR, 'fresh.config.json'));

    const processors = speedProcessors(config);

    expect(processors.map((p) => p.role)).toEqual(['all']);
    expect(durationMs(processors[0].settings.maxBatchingWindow)).toBe(0);
    expect(processors[0].settings.batchSize).toBe(500);
    expect(config.stream).toMatchObject({ mode: 'provisioned', shardCount: 4 });
  });
});
