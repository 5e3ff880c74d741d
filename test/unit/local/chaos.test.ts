/**
 * Chaos decisions without emulators: plans are functions of (seed, scope, invocation, call), faults
 * are bounded, and the middleware raises SDK-shaped errors. Calls are fake `send` functions, except
 * for the middleware tests, which use a real SDK client whose request never leaves the process.
 */
import { BatchGetItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { Chaos } from '../../../local/chaos/chaos';
import { ChaosConfigError, SimulatedCrashError } from '../../../local/chaos/errors';
import { applyChaos, removeChaos } from '../../../local/chaos/middleware';
import type { ChaosOptions } from '../../../local/chaos/options';
import { mulberry32 } from '../../../local/chaos/prng';
import type { ChaosFault, ChaosService } from '../../../local/chaos/types';

const SCOPE = { shardId: 'shardId-000000000000', slot: 0 };

/** Runs `invocations` invocations, each making `calls` calls (every other one an UpdateItem). */
async function simulate(options: ChaosOptions, invocations = 40, calls = 6): Promise<readonly ChaosFault[]> {
  const chaos = new Chaos(options);
  for (let i = 0; i < invocations; i++) {
    const invocation = chaos.beginInvocation(SCOPE);
    await invocation
      .run(async () => {
        for (let c = 0; c < calls; c++) {
          const service: ChaosService = c === calls - 1 ? 'sns' : 'dynamodb';
          const command = c % 2 === 0 ? 'UpdateItemCommand' : 'GetItemCommand';
          await chaos.intercept(service, command, async () => 'ok');
        }
      })
      .catch(() => undefined);
    invocation.settle();
    chaos.planRedelivery(SCOPE, { historyLength: 20, lastBatchLength: 10, batchSize: 10 });
  }
  return chaos.faults;
}

const BUSY: ChaosOptions = {
  seed: 42,
  crashProbability: 0.3,
  throttleProbability: 0.2,
  lostResponseProbability: 0.5,
  redeliveryProbability: 0.3,
};

test('mulberry32 gives the same sequence for the same seed', () => {
  const a = mulberry32(9);
  const b = mulberry32(9);

  const first = Array.from({ length: 5 }, () => a());

  expect(Array.from({ length: 5 }, () => b())).toEqual(first);
  expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
});

test('the same seed produces the same faults', async () => {
  const first = await simulate(BUSY);

  expect(first.length).toBeGreaterThan(0);
  expect(await simulate(BUSY)).toEqual(first);
});

test('a different seed produces different faults', async () => {
  expect(await simulate({ ...BUSY, seed: 43 })).not.toEqual(await simulate(BUSY));
});

test('after maxConsecutiveFaultyInvocations faulty invocations the next one runs clean', async () => {
  const chaos = new Chaos({
    seed: 1,
    crashProbability: 1,
    maxCrashAfterUpdates: 0,
    maxConsecutiveFaultyInvocations: 2,
  });
  const crashed: boolean[] = [];

  for (let i = 0; i < 6; i++) {
    const invocation = chaos.beginInvocation(SCOPE);
    await invocation
      .run(() => chaos.intercept('dynamodb', 'UpdateItemCommand', async () => 'ok'))
      .catch(() => undefined);
    crashed.push(invocation.settle() !== undefined);
  }

  expect(crashed).toEqual([true, true, false, true, true, false]);
  expect(chaos.counters.cleanInvocationsForced).toBe(2);
});

test('a crashing invocation fails every call from the one after its N-th UpdateItem on', async () => {
  const chaos = new Chaos({ seed: 5, crashProbability: 1, maxCrashAfterUpdates: 3, throttleProbability: 0 });
  const invocation = chaos.beginInvocation(SCOPE);
  const outcomes: string[] = [];

  await invocation.run(async () => {
    for (let c = 0; c < 6; c++) {
      outcomes.push(
        await chaos.intercept('dynamodb', 'UpdateItemCommand', async () => 'ok').catch((e: Error) => e.name),
      );
    }
    outcomes.push(
      await chaos.intercept('s3', 'PutObjectCommand', async () => 'ok').catch((e: Error) => e.name),
    );
  });

  const n = chaos.faults[0].afterUpdates as number;
  expect(outcomes).toEqual([...Array(n).fill('ok'), ...Array(7 - n).fill('SimulatedCrashError')]);
  expect(invocation.settle()).toBeInstanceOf(SimulatedCrashError);
});

test('a crash due after the last call the handler made happens when the invocation ends', async () => {
  const chaos = new Chaos({ seed: 5, crashProbability: 1, maxCrashAfterUpdates: 0, throttleProbability: 0 });
  const invocation = chaos.beginInvocation(SCOPE);

  await invocation.run(async () => undefined);

  expect(invocation.settle()).toBeInstanceOf(SimulatedCrashError);
  expect(chaos.counters.crashes).toBe(1);
});

test('a throttle before sending does not send the request', async () => {
  const chaos = new Chaos({
    seed: 2,
    crashProbability: 0,
    throttleProbability: 1,
    lostResponseProbability: 0,
  });
  const send = jest.fn(async () => 'ok');
  const invocation = chaos.beginInvocation(SCOPE);

  const error = await invocation
    .run(() => chaos.intercept('sns', 'PublishCommand', send))
    .catch((e: unknown) => e);

  expect(send).not.toHaveBeenCalled();
  expect(error).toMatchObject({
    name: 'ThrottledException',
    $retryable: { throttling: true },
    $fault: 'client',
  });
});

test('a lost response sends the request and then fails like a socket timeout', async () => {
  const chaos = new Chaos({
    seed: 2,
    crashProbability: 0,
    throttleProbability: 1,
    lostResponseProbability: 1,
  });
  const send = jest.fn(async () => 'ok');
  const invocation = chaos.beginInvocation(SCOPE);

  const error = await invocation
    .run(() => chaos.intercept('dynamodb', 'UpdateItemCommand', send))
    .catch((e: unknown) => e);

  expect(send).toHaveBeenCalledTimes(1);
  expect(error).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT' });
  expect(chaos.counters.lostResponses).toBe(1);
});

test('calls outside an invocation are never faulted', async () => {
  const chaos = new Chaos({ seed: 2, crashProbability: 1, throttleProbability: 1 });

  await expect(chaos.intercept('dynamodb', 'UpdateItemCommand', async () => 'ok')).resolves.toBe('ok');
  expect(chaos.faults).toEqual([]);
});

test('a redelivery range overlaps the last batch and holds at most batchSize records', () => {
  const chaos = new Chaos({ seed: 8, redeliveryProbability: 1 });

  for (let i = 0; i < 50; i++) {
    const range = chaos.planRedelivery(SCOPE, { historyLength: 30, lastBatchLength: 10, batchSize: 10 });
    expect(range).toBeDefined();
    const { start, end } = range as { start: number; end: number };
    expect(end).toBeGreaterThan(20);
    expect(end).toBeLessThanOrEqual(30);
    expect(start).toBeGreaterThanOrEqual(end - 10);
    expect(start).toBeLessThan(end);
  }
});

test('rejects a probability above 1, naming the option and the value', () => {
  expect(() => new Chaos({ seed: 1, throttleProbability: 1.5 })).toThrow(
    new ChaosConfigError('throttleProbability: got 1.5; must be between 0 and 1'),
  );
});

describe('storms', () => {
  /** Runs `invocations` invocations of one call each to `service`; returns which failed, and how. */
  async function stormRun(
    chaos: Chaos,
    invocations: number,
    service: ChaosService = 'dynamodb',
  ): Promise<string[]> {
    const outcomes: string[] = [];
    for (let i = 0; i < invocations; i++) {
      const invocation = chaos.beginInvocation(SCOPE);
      outcomes.push(
        await invocation
          .run(() => chaos.intercept(service, 'UpdateItemCommand', async () => 'ok'))
          .catch((e: Error) => e.name),
      );
      invocation.settle();
    }
    return outcomes;
  }
  const calm = { crashProbability: 0, throttleProbability: 0, redeliveryProbability: 0 };

  test('fails every call to its service during its invocations, then clears', async () => {
    const chaos = new Chaos({
      seed: 1,
      ...calm,
      storms: [{ service: 'dynamodb', fromInvocation: 2, invocations: 3 }],
    });

    const outcomes = await stormRun(chaos, 7);

    expect(outcomes.map((o) => o !== 'ok')).toEqual([false, false, true, true, true, false, false]);
    expect(chaos.counters.stormFaults).toBe(3);
    expect(chaos.faults.every((f) => f.kind === 'storm' && f.storm === 0)).toBe(true);
  });

  test('a DynamoDB storm raises the throttling errors DynamoDB raises', async () => {
    const chaos = new Chaos({ seed: 1, ...calm, storms: [{ service: 'dynamodb', invocations: 40 }] });

    const names = new Set(await stormRun(chaos, 40));

    expect(names).toEqual(new Set(['ProvisionedThroughputExceededException', 'ThrottlingException']));
  });

  test('outlasts the bound on faulty invocations in a row', async () => {
    const chaos = new Chaos({
      seed: 1,
      ...calm,
      maxConsecutiveFaultyInvocations: 1,
      storms: [{ service: 'dynamodb', invocations: 6 }],
    });

    expect((await stormRun(chaos, 6)).filter((o) => o === 'ok')).toEqual([]);
  });

  test('only fails calls to its own service', async () => {
    const chaos = new Chaos({ seed: 1, ...calm, storms: [{ service: 'sns', invocations: 5 }] });

    expect(await stormRun(chaos, 5, 'dynamodb')).toEqual(Array(5).fill('ok'));
  });

  test('an SNS storm raises the throttling error SNS raises', async () => {
    const chaos = new Chaos({ seed: 1, ...calm, storms: [{ service: 'sns', invocations: 5 }] });

    expect(new Set(await stormRun(chaos, 5, 'sns'))).toEqual(new Set(['ThrottledException']));
  });

  test('fails about `probability` of the calls', async () => {
    const chaos = new Chaos({
      seed: 3,
      ...calm,
      storms: [{ service: 'dynamodb', invocations: 400, probability: 0.9 }],
    });

    const failed = (await stormRun(chaos, 400)).filter((o) => o !== 'ok').length;

    expect(failed).toBeGreaterThan(330);
    expect(failed).toBeLessThan(400);
  });

  test('an unavailable storm raises HTTP 500 errors', async () => {
    const storm = { invocations: 3, error: 'unavailable' as const };
    const sns = await stormRun(
      new Chaos({ seed: 1, ...calm, storms: [{ ...storm, service: 'sns' }] }),
      3,
      'sns',
    );
    const dynamodb = await stormRun(
      new Chaos({ seed: 1, ...calm, storms: [{ ...storm, service: 'dynamodb' }] }),
      3,
    );

    expect(new Set(sns)).toEqual(new Set(['InternalErrorException']));
    expect(new Set(dynamodb)).toEqual(new Set(['InternalServerError']));
  });

  test('a lost response in a storm sends the request, then fails like a socket timeout', async () => {
    const chaos = new Chaos({
      seed: 1,
      ...calm,
      storms: [{ service: 'sns', invocations: 1, lostResponseShare: 1 }],
    });
    const send = jest.fn(async () => 'ok');
    const invocation = chaos.beginInvocation(SCOPE);

    const error = await invocation
      .run(() => chaos.intercept('sns', 'PublishCommand', send))
      .catch((e: unknown) => e);

    expect(send).toHaveBeenCalledTimes(1);
    expect(error).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT' });
    expect(chaos.faults).toEqual([expect.objectContaining({ kind: 'storm', stormFault: 'lost-response' })]);
  });

  test('the same seed produces the same storm faults', async () => {
    const options = {
      seed: 9,
      ...calm,
      storms: [{ service: 'dynamodb' as const, invocations: 50, probability: 0.5, lostResponseShare: 0.3 }],
    };
    const first = new Chaos(options);
    const second = new Chaos(options);

    await stormRun(first, 50);
    await stormRun(second, 50);

    expect(second.faults).toEqual(first.faults);
  });

  test('rejects a storm that lasts no invocation, naming the storm and the field', () => {
    expect(() => new Chaos({ seed: 1, storms: [{ service: 'dynamodb', invocations: 0 }] })).toThrow(
      new ChaosConfigError('storms[0].invocations: got 0; must be an integer >= 1'),
    );
  });

  test('rejects a storm probability above 1', () => {
    expect(
      () => new Chaos({ seed: 1, storms: [{ service: 'sns', invocations: 1, probability: 2 }] }),
    ).toThrow(new ChaosConfigError('storms[0].probability: got 2; must be between 0 and 1'));
  });
});

describe('SDK middleware', () => {
  // Nothing listens on port 9: a fault raised before sending never reaches the network.
  const dynamodb = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  const sns = new SNSClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  afterAll(() => {
    dynamodb.destroy();
    sns.destroy();
  });

  test('fails a DynamoDB call inside an invocation with a DynamoDB throttling exception', async () => {
    const chaos = new Chaos({
      seed: 3,
      crashProbability: 0,
      throttleProbability: 1,
      lostResponseProbability: 0,
    });
    applyChaos({ dynamodb, sns }, chaos);
    const invocation = chaos.beginInvocation(SCOPE);

    const error = await invocation
      .run(() => dynamodb.send(new GetItemCommand({ TableName: 'tbl', Key: { pk: { S: 'a' } } })))
      .catch((e: unknown) => e);

    expect((error as Error).name).toMatch(/^(ProvisionedThroughputExceededException|ThrottlingException)$/);
    expect(chaos.faults).toEqual([
      expect.objectContaining({ kind: 'throttle', service: 'dynamodb', command: 'GetItemCommand' }),
    ]);
  });

  test('a storm answers BatchGetItem with every key unprocessed, without sending it', async () => {
    const chaos = new Chaos({
      seed: 3,
      crashProbability: 0,
      throttleProbability: 0,
      storms: [{ service: 'dynamodb', invocations: 1, unprocessedKeysShare: 1 }],
    });
    applyChaos({ dynamodb, sns }, chaos);
    const keys = [{ pk: { S: 'a' }, sk: { S: 'b' } }];
    const invocation = chaos.beginInvocation(SCOPE);

    const result = await invocation.run(() =>
      dynamodb.send(new BatchGetItemCommand({ RequestItems: { tbl: { Keys: keys, ConsistentRead: true } } })),
    );

    expect(result.Responses).toEqual({ tbl: [] });
    expect(result.UnprocessedKeys).toEqual({ tbl: { Keys: keys, ConsistentRead: true } });
    expect(chaos.faults).toEqual([
      expect.objectContaining({ kind: 'storm', stormFault: 'unprocessed-keys' }),
    ]);
    removeChaos({ dynamodb, sns });
  });

  test('removeChaos takes the middleware off the clients', async () => {
    const chaos = new Chaos({
      seed: 3,
      crashProbability: 0,
      throttleProbability: 1,
      lostResponseProbability: 0,
    });
    applyChaos({ dynamodb, sns }, chaos);
    removeChaos({ dynamodb, sns });
    const invocation = chaos.beginInvocation(SCOPE);

    const error = await invocation
      .run(() =>
        sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:t', Message: 'm' })),
      )
      .catch((e: unknown) => e);

    // The request went out (and failed to connect): chaos did not intercept it.
    expect((error as Error).name).not.toBe('ThrottledException');
    expect(chaos.faults).toEqual([]);
  });
});
