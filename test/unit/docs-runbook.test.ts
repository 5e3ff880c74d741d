import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUNBOOK_PATH, RUNBOOK_SECTIONS, runbookMarkdown, runbookReference } from '../../lib/runbook';

const RUNBOOK = fs.readFileSync(path.join(__dirname, '..', '..', RUNBOOK_PATH), 'utf8');

/** GitHub's heading anchor: lowercase, punctuation other than `-` and `_` dropped, spaces to `-`. */
function githubAnchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

describe('runbook', () => {
  test.each(Object.entries(RUNBOOK_SECTIONS))('has the section %s links point to', (_, section) => {
    expect(RUNBOOK).toContain(`\n## ${section.heading}\n`);
  });

  test.each(Object.entries(RUNBOOK_SECTIONS))("the %s anchor is GitHub's for its heading", (_, section) => {
    expect(section.anchor).toBe(githubAnchor(section.heading));
  });

  test('every in-page link points at a heading of the runbook', () => {
    const anchors = new Set([...RUNBOOK.matchAll(/^#{2,3} (.+)$/gm)].map((m) => githubAnchor(m[1])));
    const links = [...RUNBOOK.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);

    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });

  test('references name the repository file without a URL', () => {
    expect(runbookReference('', 'iteratorAge')).toBe('docs/runbook.md#iterator-age');
  });

  test('references use the configured URL, replacing any anchor it has', () => {
    expect(runbookReference('https://example.com/runbook.md#top', 'batchJobFailed')).toBe(
      'https://example.com/runbook.md#batch-job-failed',
    );
  });

  test('Markdown references are links only when a URL is configured', () => {
    expect(runbookMarkdown('https://example.com/r.md', 'iteratorAge')).toBe(
      '[Runbook: Iterator age](https://example.com/r.md#iterator-age)',
    );
    expect(runbookMarkdown(undefined, 'iteratorAge')).toBe('Runbook: `docs/runbook.md#iterator-age`');
  });
});
