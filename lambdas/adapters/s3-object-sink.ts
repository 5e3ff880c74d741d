/** An `ObjectSink` (lambdas/adapters/speed-export.ts) on S3: each object replaces the one at its key. */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectSink } from './speed-export';

export class S3ObjectSink implements ObjectSink {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }
}
