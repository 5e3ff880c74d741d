import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { figureAt, readResults, recordResults, summaryTable } from '../../../bench/results';

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

describe('summary table', () => {
  test('says which targets are met and which are missed, and what was not measured', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-results-')), 'results.json');
    const results = recordResults(
      {
        handler: { ratio: 0.55 },
        dynamo: { updatesPer1000Events: 210 },
        naive: { updatesPer1000Events: 7000 },
        batch: { eventsPerSec: 500_000 },
        naiveBatch: { eventsPerSec: 100_000 },
      },
      file,
    );
    const table = summaryTable(results);
    expect(table).toMatch(/handler\.ratio\s+0\.55\s+>= 0\.5\s+met/);
    expect(table).toMatch(/dynamo \/ naive updates\s+3 %\s+<= 2 %\s+MISSED/);
    expect(table).toMatch(/batch \/ naiveBatch\s+5 x\s+>= 10x\s+MISSED/);
    expect(table).toMatch(/local\.fresh\.aggregateStalenessMs\.p99\s+not measured/);
  });
});

describe('recording in replace mode', () => {
  test('drops the figures a benchmark no longer records under its name, and keeps the others', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-results-')), 'results.json');
    recordResults({ local: { old: 1, kept: 2 }, batch: { eventsPerSec: 9 } }, file);

    const { figures } = recordResults({ local: { kept: 3 } }, file, new Date(), 'replace');

    expect(figures).toEqual({ local: { kept: 3 }, batch: { eventsPerSec: 9 } });
  });
});
