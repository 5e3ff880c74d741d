/**
 * Runs one SELECT on Athena and returns its rows as `{column: string | null}` objects: start the
 * query in a workgroup (which sets the result location, encryption and scan limit), poll until it
 * ends, then page through the results.
 */
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  QueryExecutionState,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';

export interface AthenaQueryOptions {
  readonly client: AthenaClient;
  readonly workGroup: string;
  /** The Glue database the query's unqualified table names refer to. */
  readonly database: string;
  /** Give up (and stop the query) after this long. @default 240000 (4 minutes) */
  readonly timeoutMs?: number;
  /** First poll delay; doubles up to 5 s. @default 250 */
  readonly pollIntervalMs?: number;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class AthenaQueryError extends Error {
  public override readonly name = 'AthenaQueryError';
  constructor(
    message: string,
    public readonly queryExecutionId?: string,
  ) {
    super(message);
  }
}

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class AthenaQuery {
  constructor(private readonly options: AthenaQueryOptions) {}

  /** Runs `sql` and returns every row; throws `AthenaQueryError` when the query fails, is cancelled or times out. */
  async rows(sql: string): Promise<Record<string, string | null>[]> {
    const { client, workGroup, database } = this.options;
    const started = await client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: workGroup,
        QueryExecutionContext: { Database: database },
      }),
    );
    const id = started.QueryExecutionId;
    if (!id) throw new AthenaQueryError('Athena started no query (no QueryExecutionId)');
    await this.waitFor(id);
    return this.readResults(id);
  }

  private async waitFor(id: string): Promise<void> {
    const { client } = this.options;
    const sleep = this.options.sleep ?? sleepFor;
    const deadline = Date.now() + (this.options.timeoutMs ?? 240_000);
    let delay = this.options.pollIntervalMs ?? 250;
    for (;;) {
      const { QueryExecution: execution } = await client.send(
        new GetQueryExecutionCommand({ QueryExecutionId: id }),
      );
      const state = execution?.Status?.State;
      if (state === QueryExecutionState.SUCCEEDED) return;
      if (state === QueryExecutionState.FAILED || state === QueryExecutionState.CANCELLED) {
        const reason = execution?.Status?.StateChangeReason ?? 'no reason given';
        throw new AthenaQueryError(`Athena query ${id} ${state.toLowerCase()}: ${reason}`, id);
      }
      if (Date.now() + delay > deadline) {
        await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
        throw new AthenaQueryError(
          `Athena query ${id} still ${state ?? 'unknown'} at the time limit; stopped it`,
          id,
        );
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 5_000);
    }
  }

  private async readResults(id: string): Promise<Record<string, string | null>[]> {
    const rows: Record<string, string | null>[] = [];
    let columns: string[] | undefined;
    let nextToken: string | undefined;
    let header = true;
    do {
      const page = await this.options.client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: nextToken, MaxResults: 1000 }),
      );
      columns ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      for (const row of page.ResultSet?.Rows ?? []) {
        // A SELECT's first row repeats the column names.
        if (header) {
          header = false;
          continue;
        }
        const record: Record<string, string | null> = {};
        (row.Data ?? []).forEach((datum, i) => {
          record[(columns as string[])[i]] = datum.VarCharValue ?? null;
        });
        rows.push(record);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return rows;
  }
}
