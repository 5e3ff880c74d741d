/**
 * AWS's own DynamoDB emulator, DynamoDB Local, for the parity tests: the jar ships inside the npm
 * package `amplify-dynamodb-simulator` and runs on the machine's Java (17 or newer). Unlike dynalite it
 * enforces the 4 KB expression limit, TTL and transactions, as DynamoDB does.
 *
 *   const ddb = await startDynamoDbLocal();   // in memory, on a free port of 127.0.0.1
 *   ... new DynamoDBClient({ endpoint: ddb.endpoint, ... }) ...
 *   await ddb.stop();
 *
 * Tests that need it check `javaMissing()` first and skip with its message (never silently);
 * `describeOnDynamoDbLocal` does both, and `useDynamoDbLocal` starts one emulator per test file.
 *
 * The parity suite's files are named `*.ddb-local.test.ts` and its describe titles start with
 * `[DynamoDB Local]` (`DYNAMODB_LOCAL_TITLE`): CI counts the tests that ran against DynamoDB Local
 * from jest's JSON results by that prefix.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DEFAULT_LOCAL_REGION, localCredentials } from '../../local/endpoints';

const EMULATOR_DIR = path.join(
  path.dirname(require.resolve('amplify-dynamodb-simulator/package.json')),
  'emulator',
);

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** The Java process's id. */
  readonly pid: number;
  /** Stops the Java process and waits for it to exit; safe to call more than once. */
  stop(): Promise<void>;
}

/** Why DynamoDB Local cannot run here (no `java` on the PATH), or undefined when it can. */
export function javaMissing(): string | undefined {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  return probe.error || probe.status !== 0
    ? 'DynamoDB Local needs Java 17 or newer on the PATH (java -version failed); its parity tests are skipped'
    : undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts DynamoDB Local in memory and resolves once it answers requests. */
export async function startDynamoDbLocal(options: { startTimeoutMs?: number } = {}): Promise<DynamoDbLocal> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    [
      '-Djava.library.path=./DynamoDBLocal_lib',
      '-jar',
      'DynamoDBLocal.jar',
      '-inMemory',
      '-port',
      String(port),
    ],
    { cwd: EMULATOR_DIR, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`DynamoDB Local exited before it was ready (code ${child.exitCode}): ${stderr.trim()}`);
    }
    if (await answers(endpoint)) return { endpoint, port, pid: child.pid ?? 0, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `DynamoDB Local did not answer on ${endpoint} within ${options.startTimeoutMs ?? 30_000} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.ListTables',
        Authorization:
          'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: '{}',
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** The prefix of every DynamoDB Local suite's title, by which CI counts the tests that ran on it. */
export const DYNAMODB_LOCAL_TITLE = '[DynamoDB Local]';

/**
 * A `describe` whose tests run against DynamoDB Local: titled `[DynamoDB Local] <title>`. Where Java
 * is missing the suite is one skipped test whose title says why, and a warning says it too.
 */
export function describeOnDynamoDbLocal(title: string, body: () => void): void {
  const missing = javaMissing();
  describe(`${DYNAMODB_LOCAL_TITLE} ${title}`, () => {
    if (missing) {
      console.warn(`${DYNAMODB_LOCAL_TITLE} ${title}: SKIPPED: ${missing}`);
      test.skip(`SKIPPED: ${missing}`, () => undefined);
      return;
    }
    body();
  });
}

/** A DynamoDB client for DynamoDB Local (any credentials; HTTP/1.1 like the other local clients). */
export function dynamoDbLocalClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    region: DEFAULT_LOCAL_REGION,
    endpoint,
    credentials: localCredentials(),
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ requestTimeout: 30_000, connectionTimeout: 5_000 }),
  });
}

/**
 * Starts DynamoDB Local before the file's tests and stops it after them; call inside
 * `describeOnDynamoDbLocal`. The getter returns the running emulator.
 */
export function useDynamoDbLocal(): () => DynamoDbLocal {
  let ddb: DynamoDbLocal | undefined;
  beforeAll(async () => {
    ddb = await startDynamoDbLocal();
  }, 60_000);
  afterAll(async () => {
    await ddb?.stop();
  });
  return () => {
    if (!ddb) throw new Error('DynamoDB Local is not running (useDynamoDbLocal starts it in beforeAll)');
    return ddb;
  };
}
