/** Query results as an aligned text table, CSV (RFC 4180) or JSON. */

export type OutputFormat = 'table' | 'csv' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'csv', 'json'];

export type Cell = string | number | boolean | null | readonly unknown[] | Readonly<Record<string, unknown>>;

export interface ResultSet {
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<readonly Cell[]>;
}

/** A cell as text: null is empty, objects and lists are JSON. */
export function cellText(cell: Cell | undefined): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'object') return JSON.stringify(cell);
  return String(cell);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function formatCsv(result: ResultSet): string {
  const lines = [result.columns, ...result.rows.map((row) => row.map(cellText))].map((fields) =>
    fields.map((f) => csvField(String(f))).join(','),
  );
  return `${lines.join('\r\n')}\r\n`;
}

export function formatJson(result: ResultSet): string {
  const objects = result.rows.map((row) =>
    Object.fromEntries(result.columns.map((c, i) => [c, row[i] ?? null])),
  );
  return `${JSON.stringify(objects, null, 2)}\n`;
}

/** Columns padded to their widest cell (capped at `maxWidth`, longer cells end in `…`), numbers right-aligned. */
export function formatTable(result: ResultSet, maxWidth = 60): string {
  const text = result.rows.map((row) => result.columns.map((_, i) => cellText(row[i]).replace(/\s+/g, ' ')));
  const clip = (s: string): string => (s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s);
  const widths = result.columns.map((c, i) =>
    Math.max(clip(c).length, ...text.map((r) => clip(r[i]).length)),
  );
  const numeric = result.columns.map(
    (_, i) =>
      result.rows.length > 0 &&
      result.rows.every(
        (r) =>
          r[i] === null || typeof r[i] === 'number' || /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(cellText(r[i])),
      ),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (numeric[i] ? clip(cell).padStart(widths[i]) : clip(cell).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(result.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)];
  out.push(`(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`);
  return `${out.join('\n')}\n`;
}

export function formatResult(result: ResultSet, format: OutputFormat): string {
  if (format === 'csv') return formatCsv(result);
  if (format === 'json') return formatJson(result);
  return formatTable(result);
}
