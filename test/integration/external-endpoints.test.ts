/**
 * The emulator process with a service given an external endpoint (as `sluice local` and the tests'
 * helper run it under `AWS_ENDPOINT_URL_DYNAMODB`): that service's emulator is not started, the
 * endpoints name the external URL, and the other emulators answer as usual.
 */
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { createLocalClients, destroyLocalClients } from '../../local/endpoints';
import { startEmulatorProcess, type EmulatorProcess } from '../../local/emulators/process';

const EXTERNAL_DYNAMODB = 'http://127.0.0.1:8000';
let emulators: EmulatorProcess;

beforeAll(async () => {
  emulators = await startEmulatorProcess({ external: { dynamodb: EXTERNAL_DYNAMODB } });
});

afterAll(() => emulators?.stop());

test('names the external DynamoDB and marks it external', () => {
  expect(emulators.endpoints.dynamodb).toBe(EXTERNAL_DYNAMODB);
  expect(emulators.endpoints.external).toEqual(['dynamodb']);
});

test('still runs kinesalite and fauxqs on ports of their own', async () => {
  const clients = createLocalClients(emulators.endpoints);
  try {
    await expect(clients.kinesis.send(new ListStreamsCommand({}))).resolves.toBeDefined();
    await expect(clients.sqs.send(new ListQueuesCommand({}))).resolves.toBeDefined();
  } finally {
    destroyLocalClients(clients);
  }
  expect(emulators.endpoints.kinesis).not.toBe(EXTERNAL_DYNAMODB);
  expect(emulators.endpoints.sqs).not.toBe(EXTERNAL_DYNAMODB);
});
