/**
 * The speed export in local mode: the same `SpeedExport` the deployed Lambda runs, writing into the
 * lake directory instead of S3. Each object is written to a staging directory the table's view
 * does not read, then renamed into place, so a query never sees half an object.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SPEED_HOURLY } from '../contract/lake-tables';
import { dayRange } from '../core/reconcile';
import type { WindowSpec } from '../core/speed-config';
import { AggregateReader } from '../lambdas/adapters/aggregate-reader';
import {
  hoursToExport,
  SpeedExport,
  type ObjectSink,
  type SpeedExportResult,
} from '../lambdas/adapters/speed-export';

const HOUR_MS = 3_600_000;

/** Writes objects under a lake directory, at their key, atomically. */
export class LakeDirectorySink implements ObjectSink {
  constructor(private readonly lakeDir: string) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    const file = path.join(this.lakeDir, ...key.split('/'));
    const staging = path.join(this.lakeDir, SPEED_HOURLY.prefix, '.staging');
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.mkdir(staging, { recursive: true });
    const temporary = path.join(staging, `${process.pid}-${path.basename(file)}`);
    await fs.promises.writeFile(temporary, body);
    await fs.promises.rename(temporary, file);
  }
}

export interface LocalSpeedExportOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly lakeDir: string;
  readonly windows: readonly WindowSpec[];
  readonly latenessMs: number;
  /** Time between scheduled exports (the batch scheduler's interval). */
  readonly intervalMs: number;
}

export class LocalSpeedExport {
  private readonly export: SpeedExport;
  private readonly indexed: boolean;

  constructor(private readonly options: LocalSpeedExportOptions) {
    const reader = new AggregateReader({
      client: options.dynamodb,
      tableName: options.tableName,
      windows: options.windows,
    });
    this.indexed = reader.plan.indexed !== undefined;
    this.export = new SpeedExport(reader, new LakeDirectorySink(options.lakeDir));
  }

  /** A scheduled run at `now`: the hours that can still change (`hoursToExport`). Nothing without an hourly window. */
  async run(now: number): Promise<SpeedExportResult | undefined> {
    if (!this.indexed) return undefined;
    return this.export.exportHours(hoursToExport(now, this.options.intervalMs, this.options.latenessMs));
  }

  /** Every hour of the given days (`YYYY-MM-DD`): a replay's, whose events may be older than a scheduled run looks. */
  async days(days: readonly string[]): Promise<SpeedExportResult | undefined> {
    if (!this.indexed) return undefined;
    const hours: number[] = [];
    for (const day of days) {
      const { start, end } = dayRange(day);
      for (let h = start; h < end; h += HOUR_MS) hours.push(h);
    }
    return this.export.exportHours(hours);
  }
}
