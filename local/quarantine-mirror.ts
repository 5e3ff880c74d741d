/**
 * The speed layer quarantines invalid records in the lake bucket (S3, the fauxqs emulator locally),
 * while the local batch layer reads the lake from a directory. This copies every object under
 * `quarantine/` from the bucket to the same key in the lake directory, so the `quarantine` table
 * works locally as it does in Athena, and reads the quarantined records back for the replay outputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { LAKE_PREFIXES } from '../contract/lake-layout';
import type { QuarantinedRecord } from '../lambdas/adapters/quarantine-writer';

export interface QuarantineMirrorOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly lakeDir: string;
}

export class QuarantineMirror {
  /** Keys copied, with their ETag (a re-processed batch overwrites its object). */
  private readonly copied = new Map<string, string>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: QuarantineMirrorOptions) {}

  /** Copies new and changed objects; returns how many were copied. Calls never overlap. */
  sync(): Promise<number> {
    const run = this.queue.then(() => this.syncNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Every quarantined event in the lake directory, each once: a retried batch split differently
   * may quarantine an event in two objects, so entries are deduplicated by (shardId,
   * sequenceNumber, subRecordIndex): the events of a packed record share its sequence number.
   */
  async records(): Promise<QuarantinedRecord[]> {
    await this.sync();
    const unique = new Map<string, QuarantinedRecord>();
    // Every copy in the lake, also those an earlier run of a kept state directory made.
    const root = path.join(this.options.lakeDir, LAKE_PREFIXES.quarantine);
    const files = fs.existsSync(root) ? await fs.promises.readdir(root, { recursive: true }) : [];
    const keys = files
      .map((file) => String(file))
      .filter((file) => file.endsWith('.ndjson') && !path.basename(file).startsWith('.'))
      .map((file) => `${LAKE_PREFIXES.quarantine}${file.split(path.sep).join('/')}`);
    for (const key of keys.sort()) {
      const text = await fs.promises.readFile(path.join(this.options.lakeDir, key), 'utf8');
      for (const line of text.split('\n')) {
        if (!line) continue;
        const record = JSON.parse(line) as QuarantinedRecord;
        const id = `${record.shardId}\n${record.sequenceNumber}\n${record.subRecordIndex ?? ''}`;
        if (!unique.has(id)) unique.set(id, record);
      }
    }
    return [...unique.values()];
  }

  private async syncNow(): Promise<number> {
    let copied = 0;
    let token: string | undefined;
    do {
      const page = await this.options.s3.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: LAKE_PREFIXES.quarantine,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key as string;
        const tag = `${object.ETag ?? ''}/${object.Size ?? ''}`;
        if (this.copied.get(key) === tag) continue;
        const response = await this.options.s3.send(
          new GetObjectCommand({ Bucket: this.options.bucket, Key: key }),
        );
        const body = await (
          response.Body as { transformToByteArray(): Promise<Uint8Array> }
        ).transformToByteArray();
        const file = path.join(this.options.lakeDir, key);
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        const temporary = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
        await fs.promises.writeFile(temporary, body);
        await fs.promises.rename(temporary, file);
        this.copied.set(key, tag);
        copied++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return copied;
  }
}
