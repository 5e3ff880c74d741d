/** Where reconciliation reports go: `reports/reconciliation/dt=YYYY-MM-DD.json` in the lake. */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LAKE_PREFIXES } from '../../contract/lake-layout';
import type { ReconciliationReport } from '../../core/reconcile';

export function reconciliationReportKey(day: string): string {
  return `${LAKE_PREFIXES.reconciliationReports}dt=${day}.json`;
}

/** The report as stored: pretty JSON, so it reads well in the S3 console. */
export function reportBody(report: ReconciliationReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export class S3ReportStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  /** Writes (or replaces, on a re-run) the report of one day; returns its key. */
  async write(day: string, report: ReconciliationReport): Promise<string> {
    const key = reconciliationReportKey(day);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: reportBody(report),
        ContentType: 'application/json',
      }),
    );
    return key;
  }
}
