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

describe('local clients of external endpoints', () => {
  /** No credentials or region anywhere the SDK's default chains look. */
  const EMPTY_CHAIN: NodeJS.ProcessEnv = {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/sluice/credentials',
    AWS_CONFIG_FILE: '/nonexistent/sluice/config',
  };
  const CHAIN_VARIABLES = [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_REGION',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ...Object.keys(EMPTY_CHAIN),
  ];
  let saved: NodeJS.ProcessEnv;

  beforeEach(() => {
    saved = { ...process.env };
    for (const name of CHAIN_VARIABLES) delete process.env[name];
    Object.assign(process.env, EMPTY_CHAIN);
  });

  afterEach(() => {
    for (const name of CHAIN_VARIABLES) delete process.env[name];
    Object.assign(process.env, saved);
  });

  /** The Authorization header of the first DynamoDB request of clients for `endpoints` (not sent). */
  async function dynamoDbAuthorization(endpoints: LocalEndpoints): Promise<string> {
    const clients = createLocalClients(endpoints);
    let authorization = '';
    const sent = new Error('captured');
    clients.dynamodb.middlewareStack.addRelativeTo(
      () => (args: { request: unknown }) => {
        authorization = (args.request as { headers: Record<string, string> }).headers.authorization;
        throw sent;
      },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'capture' },
    );
    try {
      await expect(clients.dynamodb.send(new DescribeTableCommand({ TableName: 'table' }))).rejects.toBe(
        sent,
      );
    } finally {
      destroyLocalClients(clients);
    }
    return authorization;
  }

  test('sign with SigV4, the credentials and region of the SDK default chain', async () => {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKIDCHAIN',
      AWS_SECRET_ACCESS_KEY: 'chain-secret',
      AWS_REGION: 'eu-west-1',
    });

    const authorization = await dynamoDbAuthorization({ ...ENDPOINTS, external: ['dynamodb'] });

    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDCHAIN\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, /,
    );
    expect(authorization).not.toMatch(/Signature=0{64}$/);
  });

  test('fall back to dummy credentials and the emulators’ region for an endpoint on this machine', async () => {
    const authorization = await dynamoDbAuthorization({ ...ENDPOINTS, external: ['dynamodb'] });

    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=sluicelocal\/\d{8}\/us-east-1\/dynamodb\/aws4_request, /,
    );
  });

  test('keep the chain’s error for an endpoint elsewhere', async () => {
    const clients = createLocalClients({
      ...ENDPOINTS,
      dynamodb: 'http://dynamodb.example:8000',
      external: ['dynamodb'],
    });
    try {
      await expect(
        clients.dynamodb.send(new DescribeTableCommand({ TableName: 'table' })),
      ).rejects.toMatchObject({
        name: 'CredentialsProviderError',
      });
    } finally {
      destroyLocalClients(clients);
    }
  });

  test('leave the emulated services on the placeholder signature', async () => {
    const authorization = await dynamoDbAuthorization({ ...ENDPOINTS, external: ['kinesis'] });

    expect(authorization).toMatch(/Credential=sluicelocal\/.*Signature=0{64}$/);
  });
});
