import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import {
  createLocalClients,
  destroyLocalClients,
  placeholderSigner,
  type LocalClients,
  type LocalEndpoints,
} from '../../../local/endpoints';

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

  test.each([
    ['kinesis', (c: LocalClients) => c.kinesis.send(new ListStreamsCommand({}))],
    ['dynamodb', (c: LocalClients) => c.dynamodb.send(new DescribeTableCommand({ TableName: 'table' }))],
  ])('%s requests carry the placeholder signature, not a computed one', async (service, send) => {
    const clients = createLocalClients(ENDPOINTS);
    let authorization: unknown;
    const sent = new Error('captured');
    for (const client of [clients.kinesis, clients.dynamodb]) {
      client.middlewareStack.addRelativeTo(
        () => (args: { request: unknown }) => {
          authorization = (args.request as { headers: Record<string, string> }).headers.authorization;
          throw sent;
        },
        { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'capture' },
      );
    }
    try {
      await expect(send(clients)).rejects.toBe(sent);
    } finally {
      destroyLocalClients(clients);
    }

    expect(authorization).toMatch(new RegExp(`/us-east-1/${service}/aws4_request, .*Signature=0{64}$`));
  });
});

describe('placeholderSigner', () => {
  test('writes every part of an Authorization header kinesalite and dynalite check for, and the date', async () => {
    const request = { headers: {} as Record<string, string> };

    await placeholderSigner('kinesis').sign(request as never, {
      signingDate: new Date('2026-11-21T17:05:09.123Z'),
      signingRegion: 'eu-west-1',
    });

    expect(request.headers).toEqual({
      'x-amz-date': '20261121T170509Z',
      authorization: `AWS4-HMAC-SHA256 Credential=sluicelocal/20261121/eu-west-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
    });
  });
});
