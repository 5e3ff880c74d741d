/**
 * The sections of docs/runbook.md that alarms and dashboard widgets point operators to. The
 * anchors are GitHub's for the headings (lowercase, spaces to `-`, punctuation dropped); a test
 * checks that every heading exists in docs/runbook.md.
 */
export const RUNBOOK_SECTIONS = {
  dashboard: { heading: 'Reading the dashboard', anchor: 'reading-the-dashboard' },
  ingestThrottling: { heading: 'Ingest throttling', anchor: 'ingest-throttling' },
  iteratorAge: { heading: 'Iterator age', anchor: 'iterator-age' },
  processorErrors: { heading: 'Processor errors', anchor: 'processor-errors' },
  deadLetterQueue: { heading: 'Dead-letter queue not empty', anchor: 'dead-letter-queue-not-empty' },
  firehoseDataFreshness: { heading: 'Firehose data freshness', anchor: 'firehose-data-freshness' },
  dynamoDbThrottles: { heading: 'DynamoDB throttling', anchor: 'dynamodb-throttling' },
  batchJobFailed: { heading: 'Batch job failed', anchor: 'batch-job-failed' },
  invalidEventRatio: { heading: 'Invalid-event ratio', anchor: 'invalid-event-ratio' },
  reconciliationDrift: { heading: 'Reconciliation drift', anchor: 'reconciliation-drift' },
  reconciliationFailed: { heading: 'Reconciliation failed', anchor: 'reconciliation-failed' },
  speedExportFailed: { heading: 'Speed export failing', anchor: 'speed-export-failing' },
} as const;

export type RunbookSection = keyof typeof RUNBOOK_SECTIONS;

/** Where the runbook lives in the repository, for when no URL is configured. */
export const RUNBOOK_PATH = 'docs/runbook.md';

/**
 * A reference to a runbook section: `<runbookUrl>#<anchor>` when a URL is configured (config
 * `alarms.runbookUrl`), else `docs/runbook.md#<anchor>`, which names the section in the repository.
 */
export function runbookReference(runbookUrl: string | undefined, section: RunbookSection): string {
  const base = runbookUrl && runbookUrl.length > 0 ? runbookUrl.replace(/#.*$/, '') : RUNBOOK_PATH;
  return `${base}#${RUNBOOK_SECTIONS[section].anchor}`;
}

/** The same reference as Markdown: a link when a URL is configured, code text otherwise. */
export function runbookMarkdown(runbookUrl: string | undefined, section: RunbookSection): string {
  const { heading } = RUNBOOK_SECTIONS[section];
  const reference = runbookReference(runbookUrl, section);
  return runbookUrl ? `[Runbook: ${heading}](${reference})` : `Runbook: \`${reference}\``;
}
