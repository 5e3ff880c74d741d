import type { AthenaClient } from '@aws-sdk/client-athena';
import { AthenaQuery, AthenaQueryError } from '../../../lambdas/adapters/athena-query';

type Command = { constructor: { name: string }; input: Record<string, unknown> };

/** A hand-written stand-in for the Athena API: answers each command by its name. */
function fakeClient(answers: Record<string, Array<(input: Record<string, unknown>) => object>>): {
  client: AthenaClient;
  calls: Array<{ name: string; input: Record<string, unknown> }>;
} {
  const calls: Array<{ name: string; input: Record<string, unknown> }> = [];
  const client = {
    send: async (command: Command) => {
      const name = command.constructor.name;
      calls.push({ name, input: command.input });
      const queue = answers[name];
      if (!queue || queue.length === 0) throw new Error(`unexpected ${name}`);
      const answer = queue.length > 1 ? queue.shift()! : queue[0];
      return answer(command.input);
    },
  } as unknown as AthenaClient;
  return { client, calls };
}

const noSleep = async (): Promise<void> => undefined;
const column = (name: string) => ({ Name: name, Type: 'varchar' });
const row = (...values: Array<string | undefined>) => ({
  Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })),
});

describe('AthenaQuery', () => {
  test('starts the query in the workgroup and database given', async () => {
    const { client, calls } = fakeClient({
      StartQueryExecutionCommand: [() => ({ QueryExecutionId: 'q1' })],
      GetQueryExecutionCommand: [() => ({ QueryExecution: { Status: { State: 'SUCCEEDED' } } })],
      GetQueryResultsCommand: [
        () => ({ ResultSet: { ResultSetMetadata: { ColumnInfo: [column('a')] }, Rows: [row('a')] } }),
      ],
    });

    await new AthenaQuery({ client, workGroup: 'sluice', database: 'lake', sleep: noSleep }).rows(
      'SELECT 1 AS a',
    );

    expect(calls[0].input).toEqual({
      QueryString: 'SELECT 1 AS a',
      WorkGroup: 'sluice',
      QueryExecutionContext: { Database: 'lake' },
    });
  });

  test('waits while the query runs and returns rows without the header row', async () => {
    const { client } = fakeClient({
      StartQueryExecutionCommand: [() => ({ QueryExecutionId: 'q1' })],
      GetQueryExecutionCommand: [
        () => ({ QueryExecution: { Status: { State: 'QUEUED' } } }),
        () => ({ QueryExecution: { Status: { State: 'RUNNING' } } }),
        () => ({ QueryExecution: { Status: { State: 'SUCCEEDED' } } }),
      ],
      GetQueryResultsCommand: [
        () => ({
          ResultSet: {
            ResultSetMetadata: { ColumnInfo: [column('a'), column('b')] },
            Rows: [row('a', 'b'), row('1', undefined)],
          },
        }),
      ],
    });

    const rows = await new AthenaQuery({ client, workGroup: 'w', database: 'd', sleep: noSleep }).rows(
      'SELECT',
    );

    expect(rows).toEqual([{ a: '1', b: null }]);
  });

  test('follows result pages', async () => {
    const { client } = fakeClient({
      StartQueryExecutionCommand: [() => ({ QueryExecutionId: 'q1' })],
      GetQueryExecutionCommand: [() => ({ QueryExecution: { Status: { State: 'SUCCEEDED' } } })],
      GetQueryResultsCommand: [
        () => ({
          NextToken: 't2',
          ResultSet: { ResultSetMetadata: { ColumnInfo: [column('a')] }, Rows: [row('a'), row('1')] },
        }),
        () => ({ ResultSet: { ResultSetMetadata: { ColumnInfo: [column('a')] }, Rows: [row('2')] } }),
      ],
    });

    const rows = await new AthenaQuery({ client, workGroup: 'w', database: 'd', sleep: noSleep }).rows(
      'SELECT',
    );

    expect(rows).toEqual([{ a: '1' }, { a: '2' }]);
  });

  test("a failed query raises AthenaQueryError with Athena's reason", async () => {
    const { client } = fakeClient({
      StartQueryExecutionCommand: [() => ({ QueryExecutionId: 'q1' })],
      GetQueryExecutionCommand: [
        () => ({
          QueryExecution: {
            Status: { State: 'FAILED', StateChangeReason: 'TABLE_NOT_FOUND: sensor_stats_hourly' },
          },
        }),
      ],
    });

    const query = new AthenaQuery({ client, workGroup: 'w', database: 'd', sleep: noSleep }).rows('SELECT');

    await expect(query).rejects.toThrow(
      new AthenaQueryError('Athena query q1 failed: TABLE_NOT_FOUND: sensor_stats_hourly'),
    );
  });

  test('stops a query still running at the time limit', async () => {
    const { client, calls } = fakeClient({
      StartQueryExecutionCommand: [() => ({ QueryExecutionId: 'q1' })],
      GetQueryExecutionCommand: [() => ({ QueryExecution: { Status: { State: 'RUNNING' } } })],
      StopQueryExecutionCommand: [() => ({})],
    });

    const query = new AthenaQuery({
      client,
      workGroup: 'w',
      database: 'd',
      sleep: noSleep,
      timeoutMs: 0,
    }).rows('SELECT');

    await expect(query).rejects.toThrow(/still RUNNING at the time limit; stopped it/);
    expect(calls.map((c) => c.name)).toContain('StopQueryExecutionCommand');
  });
});
