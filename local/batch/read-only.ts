/**
 * Read-only DuckDB over the local lake, for SQL that comes from outside the batch job (`sluice query
 * --local`, the session's query action over HTTP). DuckDB SQL can read and write any file the user
 * can (`COPY … TO`, `read_text`, `ATTACH`, extensions), so such SQL runs on an instance of its own that
 * 1. may touch files under the lake directory only (`allowed_directories` with
 *    `enable_external_access = false`, which also refuses `INSTALL`/`LOAD` and URLs),
 * 2. cannot undo that (`lock_configuration`), and
 * 3. runs one statement that reads (`SELECT`, `EXPLAIN`; `DESCRIBE`, `SHOW`, `SUMMARIZE` are
 *    SELECTs to DuckDB), so nothing is written inside the lake either.
 */
import {
  StatementType,
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  type DuckDBValue,
} from '@duckdb/node-api';
import { UserError } from '../../contract/user-error';

/** SQL refused by a read-only lake; the message says what runs instead. */
export class ReadOnlyQueryError extends UserError {
  public override readonly name = 'ReadOnlyQueryError';
}

const READING_STATEMENTS: ReadonlySet<StatementType> = new Set([StatementType.SELECT, StatementType.EXPLAIN]);

const quote = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * Confines the connection's instance to reading `lakeDir`, for good: run it after the instance's own
 * setup (macros, settings), as nothing can be changed afterwards.
 */
export async function confineToLake(connection: DuckDBConnection, lakeDir: string): Promise<void> {
  await connection.run(`SET allowed_directories = [${quote(lakeDir)}]`);
  await connection.run('SET autoinstall_known_extensions = false');
  await connection.run('SET autoload_known_extensions = false');
  await connection.run('SET enable_external_access = false');
  await connection.run('SET lock_configuration = true');
}

/** Prepares `sql` if it is one statement that only reads; throws `ReadOnlyQueryError` otherwise. */
export async function prepareReadOnly(
  connection: DuckDBConnection,
  sql: string,
  values?: readonly DuckDBValue[],
): Promise<DuckDBPreparedStatement> {
  const statements = await connection.extractStatements(sql);
  if (statements.count !== 1) {
    throw new ReadOnlyQueryError(
      `a query here is exactly one SQL statement (got ${statements.count}); run them one at a time`,
    );
  }
  const prepared = await statements.prepare(0);
  if (!READING_STATEMENTS.has(prepared.statementType)) {
    throw new ReadOnlyQueryError(
      `only SELECT (or EXPLAIN, DESCRIBE, SHOW) runs over the lake here, not ${StatementType[prepared.statementType]}`,
    );
  }
  if (values) prepared.bind([...values]);
  return prepared;
}
