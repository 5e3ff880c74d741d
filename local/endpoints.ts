/**
 * Where the local emulators listen, and the one place that builds AWS SDK clients for them.
 *
 * Every SDK client the local runtime, the CLI and the integration tests use against the emulators
 * comes from `createLocalClients`, so the emulator-specific settings (HTTP/1.1 for kinesalite,
 * path-style S3, dummy credentials) live here and nowhere else. Services the user runs elsewhere
 * (`AWS_ENDPOINT_URL*`, local/external-endpoints.ts) get real SigV4 signatures, with credentials and
 * region from the SDK's default chains.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ENDPOINT_SERVICES, isLoopbackUrl, type EndpointService } from './external-endpoints';

/** Base URLs (`http://127.0.0.1:<port>`) of the emulators, plus the region every client uses. */
export interface LocalEndpoints {
  /** The emulators' region, and the external services' when the SDK's region chain finds none. */
  readonly region: string;
  readonly kinesis: string;
  readonly dynamodb: string;
  readonly sns: string;
  readonly sqs: string;
  readonly s3: string;
  /**
   * Services whose URL above is an external endpoint the user gave, not an emulator of ours.
   * @default - none
   */
  readonly external?: readonly EndpointService[];
}

/** One SDK client per emulated service. */
export interface LocalClients {
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
}

export interface LocalClientOverrides {
  /**
   * SDK attempts per call, including the first. Emulators do not throttle, so retries only cover
   * transient socket errors; faults injected by local/chaos/ sit above the retry layer anyway.
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Socket timeout per request in milliseconds.
   * @default 10000
   */
  readonly requestTimeoutMs?: number;
}

/**
 * Emulators accept any credentials; static ones make the SDK sign requests without looking for real
 * ones. A fresh object per client: the SDK tags the credentials object it is given.
 */
export function localCredentials(): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: 'sluicelocal', secretAccessKey: 'sluicelocal' };
}

/** The AWS account id the emulators put in ARNs (kinesalite, fauxqs and dynalite all use 0s). */
export const LOCAL_ACCOUNT_ID = '000000000000';

export const DEFAULT_LOCAL_REGION = 'us-east-1';

/** Creates SDK clients pointed at the emulators (and external endpoints) in `endpoints`. */
export function createLocalClients(
  endpoints: LocalEndpoints,
  overrides: LocalClientOverrides = {},
): LocalClients {
  const maxAttempts = overrides.maxAttempts ?? 3;
  const requestTimeout = overrides.requestTimeoutMs ?? 10_000;
  const external = new Set(endpoints.external ?? []);
  const externalAuth = external.size > 0 ? externalAuthentication(endpoints) : undefined;
  // A fresh HTTP/1.1 handler per client: the SDK's default for Kinesis negotiates HTTP/2,
  // which kinesalite does not speak, and separate handlers keep the clients' sockets apart.
  const handler = (): NodeHttpHandler => new NodeHttpHandler({ requestTimeout, connectionTimeout: 5_000 });
  const common = (service: EndpointService) => ({
    endpoint: endpoints[service],
    maxAttempts,
    requestHandler: handler(),
    ...(externalAuth && external.has(service)
      ? externalAuth(service)
      : { region: endpoints.region, credentials: localCredentials() }),
  });
  // The placeholder signature is for our own emulators only: anything else gets the real one.
  const signer = (service: 'kinesis' | 'dynamodb') =>
    external.has(service) ? {} : { signer: placeholderSigner(service) };
  const clients: LocalClients = {
    kinesis: new KinesisClient({ ...common('kinesis'), ...signer('kinesis') }),
    dynamodb: new DynamoDBClient({ ...common('dynamodb'), ...signer('dynamodb') }),
    sns: new SNSClient(common('sns')),
    sqs: new SQSClient(common('sqs')),
    s3: new S3Client({
      ...common('s3'),
      // fauxqs also understands virtual-hosted style, but only through DNS tricks; path style
      // works against 127.0.0.1 with no setup.
      forcePathStyle: true,
      // Emulators do not implement the flexible-checksum trailers newer SDKs send by default.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  };
  // The SDK's logger middleware copies every input and output through its sensitive-data filter
  // for a logger that is a no-op here: about 4 % of local mode's CPU at 1,000 events/s (GetRecords
  // outputs and PutRecords inputs of hundreds of records, one UpdateItem per aggregate item).
  for (const client of Object.values(clients)) client.middlewareStack.remove('loggerMiddleware');
  return clients;
}

type Credentials = Awaited<ReturnType<ReturnType<typeof defaultProvider>>>;

/**
 * Region and credentials of the clients of external endpoints: the SDK's default chains (AWS_REGION,
 * AWS_PROFILE, ~/.aws, ...), shared by every such client. Where a chain finds nothing, the region
 * falls back to the emulators' and, for an endpoint on this machine (DynamoDB Local and LocalStack
 * accept any), the credentials to the dummy ones; elsewhere the chain's error stands.
 */
function externalAuthentication(
  endpoints: LocalEndpoints,
): (service: EndpointService) => Pick<DynamoDBClientConfig, 'region' | 'credentials'> {
  const chainRegion = loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS);
  let region: Promise<string> | undefined;
  const chainCredentials = defaultProvider();
  // Whether the chain found credentials is decided once: a chain that finds none can take a second
  // (its last step asks the EC2 instance metadata service), too long to repeat for every request.
  let orDummy: Promise<() => Promise<Credentials>> | undefined;
  const chainOrDummy = async (): Promise<Credentials> => {
    orDummy ??= chainCredentials().then(
      () => chainCredentials,
      () => async () => localCredentials(),
    );
    return (await orDummy)();
  };
  return (service) => ({
    region: () => (region ??= chainRegion().catch(() => endpoints.region)),
    credentials: isLoopbackUrl(endpoints[service]) ? chainOrDummy : chainCredentials,
  });
}

/** The signature `placeholderSigner` writes: the right length, never computed. */
const UNSIGNED = '0'.repeat(64);

type RequestSigner = Exclude<NonNullable<DynamoDBClientConfig['signer']>, (...args: never[]) => unknown>;

/**
 * A stand-in for SigV4 for kinesalite and dynalite, which check that a request carries an
 * Authorization header with Credential, SignedHeaders and Signature and a date header, but never
 * verify the signature (the credentials are dummies anyway). Computing real signatures (canonical
 * request, SHA-256 of every body, four HMACs) was about a tenth of local mode's CPU in the
 * pipeline's process at 1,000 events/s: one UpdateItem per aggregate item, PutRecords and
 * GetRecords. fauxqs keeps the SDK's real signer (S3 and SNS/SQS are not on the hot path).
 */
export function placeholderSigner(service: string): RequestSigner {
  return {
    sign: (request, options) => {
      const date = new Date(options?.signingDate ?? Date.now());
      const stamp = date.toISOString().replace(/[-:]|\.\d{3}/g, '');
      const scope = `${stamp.slice(0, 8)}/${options?.signingRegion ?? DEFAULT_LOCAL_REGION}/${service}/aws4_request`;
      request.headers['x-amz-date'] = stamp;
      request.headers.authorization = `AWS4-HMAC-SHA256 Credential=sluicelocal/${scope}, SignedHeaders=host;x-amz-date, Signature=${UNSIGNED}`;
      return Promise.resolve(request);
    },
  };
}

/** Closes the sockets of every client in `clients`. */
export function destroyLocalClients(clients: LocalClients): void {
  clients.kinesis.destroy();
  clients.dynamodb.destroy();
  clients.sns.destroy();
  clients.sqs.destroy();
  clients.s3.destroy();
}

/** Checks that `value` has the shape of `LocalEndpoints` (e.g. the JSON line the emulator process prints). */
export function isLocalEndpoints(value: unknown): value is LocalEndpoints {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  const external = record.external;
  return (
    ['region', ...ENDPOINT_SERVICES].every((key) => typeof record[key] === 'string') &&
    (external === undefined ||
      (Array.isArray(external) &&
        external.every((service) => (ENDPOINT_SERVICES as readonly unknown[]).includes(service))))
  );
}
