import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchOptionError, emulatorPlacement, positiveNumber } from '../../../bench/options';

describe('benchmark options', () => {
  test('a positive number is read, and an absent one is the fallback', () => {
    expect([positiveNumber('--rate', '250', 1_000), positiveNumber('--rate', undefined, 1_000)]).toEqual([
      250, 1_000,
    ]);
  });

  test.each(['0', '-3', 'abc', ''])(
    '%j is not a positive number: one line naming the flag and the value',
    (value) => {
      expect(() => positiveNumber('--rate', value, 1)).toThrow(BenchOptionError);
      expect(() => positiveNumber('--rate', value, 1)).toThrow(
        `--rate: got ${JSON.stringify(value)}; must be a positive number`,
      );
    },
  );

  test('--emulators is child when absent, and takes only the placements the pipeline knows', () => {
    expect([emulatorPlacement(undefined), emulatorPlacement('in-process')]).toEqual(['child', 'in-process']);
    expect(() => emulatorPlacement('remote')).toThrow(
      new BenchOptionError('--emulators: got "remote"; must be child or in-process'),
    );
  });
});

describe('runBench', () => {
  test('a config that does not validate is one message and exit code 2, not a stack trace', () => {
    const bad = path.join(os.tmpdir(), `sluice-bench-config-${process.pid}.json`);
    fs.writeFileSync(bad, JSON.stringify({ processor: { maxBatchingWindow: '9m' } }));
    try {
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(__dirname, '..', '..', '..', 'bench', 'cost.bench.ts'),
          '--config',
          bad,
        ],
        { encoding: 'utf8' },
      );

      expect(run.status).toBe(2);
      expect(run.stderr).toContain('processor.maxBatchingWindow: got "9m"');
      expect(run.stderr).not.toMatch(/^\s+at /m);
    } finally {
      fs.rmSync(bad, { force: true });
    }
  });
});
