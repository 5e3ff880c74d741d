/**
 * The layer rule of docs/architecture.md, "a folder imports only the folders below it, and no
 * cycles", is kept by lint (eslint.config.mjs). These tests run the project's own ESLint config on
 * code placed in the real folders and on a fixture cycle, and show that the rules fail where they
 * should and pass where they should, so a config change that silently disables them fails here.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const PROBE = path.join(ROOT, 'test', 'helpers', 'eslint-probe.mjs');

type Job = { readonly filePath: string; readonly code: string } | { readonly lintFile: string };

/** `import { x } from '...';` followed by a use of `x`, so only the import itself can be wrong. */
function newFile(file: string, importLine: string): Job {
  const name = /import \{ (\w+) \}/.exec(importLine)?.[1];
  return { filePath: path.join(ROOT, file), code: `${importLine}\nexport const used = ${name};\n` };
}

const UPWARD: readonly (readonly [string, string])[] = [
  ['core/upward.ts', "import { LOCAL_ACCOUNT_ID } from '../local/endpoints';"],
  ['core/upward.ts', "import { DEFAULT_CONFIG } from '../contract/config';"],
  ['contract/upward.ts', "import { DataLake } from '../lib/data-lake';"],
  ['contract/upward.ts', "import { MissingEnvironmentError } from '../lambdas/adapters/environment';"],
  ['lambdas/upward.ts', "import { LOCAL_ACCOUNT_ID } from '../local/endpoints';"],
  ['lambdas/upward.ts', "import { DataLake } from '../lib/data-lake';"],
  ['lib/upward.ts', "import { LOCAL_ACCOUNT_ID } from '../local/endpoints';"],
  ['lib/upward.ts', "import { MissingEnvironmentError } from '../lambdas/adapters/environment';"],
  ['local/upward.ts', "import { DataLake } from '../lib/data-lake';"],
  ['local/upward.ts', "import { UsageError } from '../cli/errors';"],
  ['cli/upward.ts', "import { DataLake } from '../lib/data-lake';"],
  ['core/upward.ts', "import { until } from '../test/helpers/until';"],
];

const DOWNWARD: readonly (readonly [string, string])[] = [
  ['contract/legal.ts', "import { parseDuration } from '../core/duration';"],
  ['lambdas/legal.ts', "import { DEFAULT_CONFIG } from '../contract/config';"],
  ['lib/legal.ts', "import { RAW_EVENTS } from '../contract/lake-tables';"],
  ['local/legal.ts', "import { MissingEnvironmentError } from '../lambdas/adapters/environment';"],
  ['cli/legal.ts', "import { LOCAL_ACCOUNT_ID } from '../local/endpoints';"],
  ['bin/legal.ts', "import { DataLake } from '../lib/data-lake';"],
  ['test/legal.ts', "import { UsageError } from '../cli/errors';"],
];

// A deliberate cycle: cycle-a.ts imports cycle-b.ts, which imports cycle-a.ts. `eslint .` ignores
// the fixtures (they are wrong on purpose); the probe lints them regardless.
const CYCLE: Job = { lintFile: path.join(ROOT, 'test', 'fixtures', 'layers', 'cycle-a.ts') };
const NO_CYCLE = newFile('contract/acyclic.ts', "import { windowsCovering } from '../core/windows';");

let reported: string[][] = [];

beforeAll(() => {
  const jobs: Job[] = [
    ...UPWARD.map(([file, line]) => newFile(file, line)),
    ...DOWNWARD.map(([file, line]) => newFile(file, line)),
    CYCLE,
    NO_CYCLE,
  ];
  const output = execFileSync(process.execPath, [PROBE], {
    cwd: ROOT,
    input: JSON.stringify({ root: ROOT, jobs }),
    encoding: 'utf8',
  });
  reported = JSON.parse(output) as string[][];
}, 120_000);

describe('layer rule', () => {
  it.each(UPWARD.map(([file, line], i) => [file, line, i] as const))(
    'fails %s importing from above: %s',
    (_file, _line, i) => {
      expect(reported[i]).toContain('import-x/no-restricted-paths');
    },
  );

  it.each(DOWNWARD.map(([file, line], i) => [file, line, UPWARD.length + i] as const))(
    'passes %s importing from below: %s',
    (_file, _line, i) => {
      expect(reported[i]).toEqual([]);
    },
  );
});

describe('cycle rule', () => {
  it('fails on a module that imports a module importing it back', () => {
    expect(reported[UPWARD.length + DOWNWARD.length]).toEqual(['import-x/no-cycle']);
  });

  it('passes a module whose imports never lead back to it', () => {
    expect(reported[UPWARD.length + DOWNWARD.length + 1]).toEqual([]);
  });
});
