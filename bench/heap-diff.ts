/**
 * Compares two V8 heap snapshots (e.g. the soak's `after-warm-up` and `end`, written with
 * `npm run soak -- --heap-snapshots DIR`): object counts and bytes per constructor, largest growth
 * first. A leak shows up as a constructor (a Map's backing store, `Object`s of one shape, closures,
 * strings) whose count grows with the run's length.
 *
 *   npx tsx bench/heap-diff.ts DIR/after-warm-up.heapsnapshot DIR/end.heapsnapshot [rows]
 */
import * as fs from 'node:fs';

interface HeapSnapshotFile {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: unknown[] } };
  readonly nodes: number[];
  readonly strings: string[];
}

export interface ConstructorTotals {
  readonly count: number;
  readonly bytes: number;
}

/** Objects and self bytes per `type:name` (e.g. `object:Map`, `closure:observe`, `string`). */
export function totalsByConstructor(file: HeapSnapshotFile): Map<string, ConstructorTotals> {
  const fields = file.snapshot.meta.node_fields;
  const types = file.snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const totals = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < file.nodes.length; i += width) {
    const type = types[file.nodes[i + typeAt]];
    // Strings are named by their content: group them by type only.
    const key =
      type === 'string' || type === 'concatenated string' || type === 'sliced string'
        ? type
        : `${type}:${file.strings[file.nodes[i + nameAt]]}`;
    const entry = totals.get(key) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += file.nodes[i + sizeAt];
    totals.set(key, entry);
  }
  return totals;
}

export interface ConstructorGrowth {
  readonly key: string;
  readonly count: number;
  readonly countGrowth: number;
  readonly bytesGrowth: number;
}

/** Growth from `before` to `after`, largest byte growth first. */
export function growth(
  before: ReadonlyMap<string, ConstructorTotals>,
  after: ReadonlyMap<string, ConstructorTotals>,
): ConstructorGrowth[] {
  return [...after]
    .map(([key, totals]) => ({
      key,
      count: totals.count,
      countGrowth: totals.count - (before.get(key)?.count ?? 0),
      bytesGrowth: totals.bytes - (before.get(key)?.bytes ?? 0),
    }))
    .sort((a, b) => b.bytesGrowth - a.bytesGrowth);
}

function read(file: string): HeapSnapshotFile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as HeapSnapshotFile;
}

if (require.main === module) {
  const [beforeFile, afterFile, rows = '25'] = process.argv.slice(2);
  if (!beforeFile || !afterFile) {
    process.stderr.write('usage: npx tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [rows]\n');
    process.exit(2);
  }
  const rowsShown = Number(rows);
  const diff = growth(totalsByConstructor(read(beforeFile)), totalsByConstructor(read(afterFile)));
  const total = diff.reduce((sum, d) => sum + d.bytesGrowth, 0);
  console.log(`heap growth ${(total / 1024).toFixed(0)} KiB; largest by constructor:`);
  console.log(`${'bytes'.padStart(10)} ${'objects'.padStart(9)} ${'now'.padStart(9)}  constructor`);
  for (const d of diff.slice(0, rowsShown)) {
    console.log(
      `${(d.bytesGrowth / 1024).toFixed(1).padStart(8)}Ki ${String(d.countGrowth).padStart(9)} ${String(d.count).padStart(9)}  ${d.key}`,
    );
  }
}
