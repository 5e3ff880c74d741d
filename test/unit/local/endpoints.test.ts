import { createLocalClients, destroyLocalClients, type LocalEndpoints } from '../../../local/endpoints';

const ENDPOINTS: LocalEndpoints = {
  region: 'us-east-1',
  kinesis: 'http://127.0.0.1:1',
  dynamodb: 'http://127.0.0.1:2',
  sns: 'http://127.0.0.1:3',
  sqs: 'http://127.0.0.1:3',
  s3: 'http://127.0.0.1:3',
};

describe('local clients', () => {
  test('carry no SDK logger middleware (it filters every input and output for a no-op logger)', () => {
    const clients = createLocalClients(ENDPOINTS);
    try {
      const withLogger = Object.entries(clients)
        .filter(([, client]) =>
          client.middlewareStack.identify().some((m: string) => m.startsWith('loggerMiddleware')),
        )
        .map(([service]) => service);

      expect(withLogger).toEqual([]);
    } finally {
      destroyLocalClients(clients);
    }
  });
});
