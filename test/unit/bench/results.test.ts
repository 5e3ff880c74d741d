import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { figureAt, readResults, recordResults } from '../../../bench/results';

describe('bench results file', () => {
  let file: string;
  beforeEach(() => {
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-results-')), 'results.json');
  });

  test('merges each benchmark into the figures the others recorded', () => {
    recordResults({ handler: { eventsPerSec: 1, ratio: 0.5 } }, file, new Date('2026-11-21T10:00:00Z'));
    recordResults(
      { handler: { ratio: 0.6 }, batch: { eventsPerSec: 9 } },
      file,
      new Date('2026-11-21T11:00:00Z'),
    );
    const results = readResults(file)!;
    expect(results.figures).toEqual({ handler: { eventsPerSec: 1, ratio: 0.6 }, batch: { eventsPerSec: 9 } });
    expect(results.measuredAt).toEqual({
      handler: '2026-11-21T11:00:00.000Z',
      batch: '2026-11-21T11:00:00.000Z',
    });
    expect(results.machine.cores).toBe(os.cpus().length);
  });

  test('reads a figure by its dotted path, and nothing for a missing or non-numeric one', () => {
    const { figures } = recordResults({ local: { e2eLatencyMs: { p99: 420 } }, note: 'x' }, file);
    expect(figureAt(figures, 'local.e2eLatencyMs.p99')).toBe(420);
    expect(figureAt(figures, 'local.e2eLatencyMs.p50')).toBeUndefined();
    expect(figureAt(figures, 'note')).toBeUndefined();
  });
});
