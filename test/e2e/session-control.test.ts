/**
 * A running `sluice local` takes control requests from its own CLI only (issue 15): `sluice query
 * --local`, `sluice backfill --local` and `sluice repair --local` work through the session with the token from its
 * owner-only session file; a web page's request, or one without the token, runs nothing; and SQL
 * that writes files fails even with the token.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ListQueuesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { readSql } from '../../contract/sql-template';
import { createLocalClients, destroyLocalClients, type LocalEndpoints } from '../../local/endpoints';
import { runCli, startCli, type CliResult, type RunningCli } from '../helpers/cli';

interface SessionFile {
  readonly dashboardUrl: string;
  readonly token: string;
}

let work: string;
let state: string;
let local: RunningCli;
let session: SessionFile;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-session-control-'));
  state = path.join(work, 'state');
  local = startCli(['local', '--port', '0', '--state', state, '--no-batch', '--quiet']);
  await local.waitFor(/Press Ctrl-C to stop/, 60_000);
  session = JSON.parse(fs.readFileSync(path.join(state, 'session.json'), 'utf8')) as SessionFile;
}, 90_000);

afterAll(async () => {
  await local.stop('SIGINT', 60_000);
  fs.rmSync(work, { recursive: true, force: true });
});

/** POSTs `body` to the session's query action with exactly these headers. */
function postQuery(sql: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      new URL('api/actions/query', session.dashboardUrl),
      { method: 'POST', headers },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify({ sql }));
  });
}

const query = (sql: string): Promise<CliResult> =>
  // `--`: a saved query starts with a comment, which would read as an option.
  runCli(['query', '--local', '--state', state, '--format', 'json', '--', sql]);

test('the session file holds a token and only its owner can read it', () => {
  const mode = fs.statSync(path.join(state, 'session.json')).mode & 0o777;

  expect(mode).toBe(0o600);
  expect(session.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
});

test.each([
  ['README.md', 'SELECT * FROM sensor_stats_daily LIMIT 10'],
  [
    'docs/local-mode.md',
    'SELECT sensor_id, metric, avg_value FROM sensor_stats_daily ORDER BY avg_value DESC LIMIT 5',
  ],
  ['docs/local-mode.md', 'SELECT reason, count(*) AS n FROM quarantine GROUP BY reason'],
  [
    'docs/runbook.md',
    "SELECT dt, reason, count(*) AS n FROM quarantine WHERE dt >= '2026-01-01' GROUP BY dt, reason ORDER BY n DESC",
  ],
  [
    'docs/runbook.md',
    "SELECT json_extract_scalar(line, '$.eventId') AS event_id, count(*) AS copies FROM raw_events WHERE dt = '2026-01-01' GROUP BY 1 HAVING count(*) > 1 LIMIT 20",
  ],
  ['sql/queries/hottest_sensors_yesterday.sql', readSql('queries/hottest_sensors_yesterday.sql')],
  ['sql/queries/quarantine_reasons_by_day.sql', readSql('queries/quarantine_reasons_by_day.sql')],
])('sluice query --local runs a query of %s through the session', async (_source, sql) => {
  const result = await query(sql);

  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
});

test('sluice backfill --local rebuilds a day through the session', async () => {
  const result = await runCli([
    'backfill',
    '--local',
    '--state',
    state,
    '--from',
    '2026-01-01',
    '--to',
    '2026-01-02',
    '--no-progress',
  ]);

  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(/^rebuilt 2 day\(s\) 2026-01-01\.\.2026-01-02 locally/);
});

test('sluice repair --local lists a given-up batch and tries it through the session', async () => {
  const clients = createLocalClients((session as SessionFile & { endpoints: LocalEndpoints }).endpoints);
  try {
    const { QueueUrls = [] } = await clients.sqs.send(new ListQueuesCommand({}));
    const queueUrl = QueueUrls.find((url) => url.endsWith('-stream-processor-dlq')) as string;
    // A range that was never in the stream: the repair cannot read it, and leaves it queued.
    const KinesisBatchInfo = {
      shardId: 'shardId-000000000000',
      startSequenceNumber: '1',
      endSequenceNumber: '2',
      batchSize: 2,
      streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/none',
    };
    await clients.sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ KinesisBatchInfo }) }),
    );

    const listed = await runCli(['repair', '--local', '--state', state, '--list']);
    const repaired = await runCli(['repair', '--local', '--state', state]);

    expect(listed.stdout).toMatch(
      /^1 given-up batch\(es\):\n {2}shardId-000000000000 {2}1\.\.2 {2}2 record\(s\)\n/,
    );
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(
      /^Repaired 0 batch\(es\).*\n1 batch\(es\) failed and stay queued for the next run: /,
    );
  } finally {
    destroyLocalClients(clients);
  }
});

test("the issue's cross-origin text/plain POST is refused and writes nothing", async () => {
  const target = path.join(work, 'pwned-cross-origin.csv');

  const status = await postQuery(`COPY (SELECT 1 AS x) TO '${target}'`, {
    'Content-Type': 'text/plain',
    Origin: 'http://evil.example',
  });

  expect(status).toBe(403);
  expect(fs.existsSync(target)).toBe(false);
});

test('a POST without the token is refused and writes nothing', async () => {
  const target = path.join(work, 'pwned-no-token.csv');

  const status = await postQuery(`COPY (SELECT 1 AS x) TO '${target}'`, {
    'Content-Type': 'application/json',
  });

  expect(status).toBe(403);
  expect(fs.existsSync(target)).toBe(false);
});

test('COPY TO through the query action with the token fails and writes nothing', async () => {
  const target = path.join(work, 'pwned-with-token.csv');

  const status = await postQuery(`COPY (SELECT 1 AS x) TO '${target}'`, {
    'Content-Type': 'application/json',
    Authorization: `Bearer ${session.token}`,
  });

  expect(status).toBe(400);
  expect(fs.existsSync(target)).toBe(false);
});

test('sluice query --local refuses a COPY TO in one line, and writes nothing', async () => {
  const target = path.join(work, 'pwned-cli.csv');

  const result = await query(`COPY (SELECT 1 AS x) TO '${target}'`);

  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^sluice: [^\n]*(Permission Error|only SELECT)[^\n]*\n$/);
  expect(fs.existsSync(target)).toBe(false);
});
