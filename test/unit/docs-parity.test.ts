/**
 * docs/parity.md lists every AWS API the code calls: a call added without a row (or a row whose
 * cited file has gone) fails here instead of leaving the table quietly incomplete.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const PARITY = fs.readFileSync(path.join(ROOT, 'docs', 'parity.md'), 'utf8');
const CALLING_FOLDERS = ['lambdas', 'local', 'cli'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** `UpdateItem` for every `new UpdateItemCommand(` in the calling folders. */
function apisCalled(): string[] {
  const files = CALLING_FOLDERS.flatMap((folder) => sourceFiles(path.join(ROOT, folder)));
  const names = files.flatMap((file) =>
    [...fs.readFileSync(file, 'utf8').matchAll(/new ([A-Z][A-Za-z0-9]*)Command\(/g)].map((m) => m[1]),
  );
  return [...new Set(names)].sort();
}

describe('docs/parity.md', () => {
  test('finds the calls it checks', () => {
    expect(apisCalled()).toEqual(expect.arrayContaining(['UpdateItem', 'PutRecords', 'Publish']));
  });

  test('has a row for every AWS API the code calls', () => {
    expect(apisCalled().filter((api) => !PARITY.includes(`\`${api}\``))).toEqual([]);
  });

  test('cites only files that exist', () => {
    const cited = [...PARITY.matchAll(/`((?:lambdas|local|cli|test|lib|contract)\/[\w./-]+\.ts)`/g)].map(
      (m) => m[1],
    );

    expect(cited.length).toBeGreaterThan(10);
    expect(cited.filter((file) => !fs.existsSync(path.join(ROOT, file)))).toEqual([]);
  });
});
