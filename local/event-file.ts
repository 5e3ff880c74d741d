/**
 * Input files for replays, one Kinesis record per line:
 *
 * - event files (`--events`): NDJSON, each line sent as it is (malformed lines included). A line's
 *   partition key is its `sensorId` when it is a JSON object with a usable one (a string of 1–256
 *   characters), otherwise a hash of the line, so every line can be put.
 * - record files (`--records`): each line `{"data": "<base64>", "partitionKey": "<key>"}`, with an
 *   optional `"explicitHashKey"`: any payload, packed (NDJSON, KPL) or not, with the keys a real
 *   producer gave it. A line that is not such an object is an error naming the line.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { OutgoingRecord } from '../contract/stream-record';
import { UserError } from '../contract/user-error';

export interface EventFileRecord extends OutgoingRecord {
  /** 1-based line number in the file. */
  readonly line: number;
}

/** Raised for an event file that cannot be read. */
export class ReplayInputError extends UserError {
  public override readonly name = 'ReplayInputError';
}

export function partitionKeyOf(data: Uint8Array): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(data).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const sensorId = (parsed as { sensorId?: unknown }).sensorId;
      if (typeof sensorId === 'string' && sensorId.length >= 1 && [...sensorId].length <= 256)
        return sensorId;
    }
  } catch {
    // not JSON: hash below
  }
  return `line-${createHash('sha256').update(data).digest('hex').slice(0, 32)}`;
}

/**
 * Splits a file's bytes into records at `\n`. Empty lines are skipped (Kinesis cannot hold an empty
 * record); every other line is kept byte for byte, a trailing `\r` included.
 */
export function parseEventFile(bytes: Buffer): EventFileRecord[] {
  const records: EventFileRecord[] = [];
  let start = 0;
  let line = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    line++;
    if (end > start) {
      const data = bytes.subarray(start, end);
      records.push({ line, data, partitionKey: partitionKeyOf(data) });
    }
    start = end + 1;
  }
  return records;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses a record file (see the module comment); empty lines are skipped. */
export function parseRecordFile(bytes: Buffer, option = '--records'): EventFileRecord[] {
  return parseEventFile(bytes).map(({ line, data }) => {
    const problem = (what: string): ReplayInputError =>
      new ReplayInputError(
        `${option} line ${line}: ${what}; each line must be {"data": "<base64>", "partitionKey": "<key>"} with an optional "explicitHashKey"`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch {
      throw problem('not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw problem('not an object');
    const { data: payload, partitionKey, explicitHashKey } = parsed as Record<string, unknown>;
    if (typeof payload !== 'string' || payload.length === 0 || !BASE64.test(payload))
      throw problem(`"data" is ${JSON.stringify(payload)}, not base64 of at least one byte`);
    if (typeof partitionKey !== 'string' || partitionKey.length === 0)
      throw problem('"partitionKey" is missing');
    if (
      explicitHashKey !== undefined &&
      (typeof explicitHashKey !== 'string' || !/^\d{1,39}$/.test(explicitHashKey))
    )
      throw problem(`"explicitHashKey" is ${JSON.stringify(explicitHashKey)}, not a decimal number`);
    return {
      line,
      data: Buffer.from(payload, 'base64'),
      partitionKey,
      ...(explicitHashKey === undefined ? {} : { explicitHashKey }),
    };
  });
}

/** Reads a replay input: an event file (`--events`) or a record file (`--records`). */
export function readReplayFile(file: string, option: '--events' | '--records'): EventFileRecord[] {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new ReplayInputError(`${option} ${file}: ${why}`);
  }
  const records = option === '--records' ? parseRecordFile(bytes, option) : parseEventFile(bytes);
  if (records.length === 0) throw new ReplayInputError(`${option} ${file}: the file has no lines to replay`);
  return records;
}
