import {
  EndpointVariableError,
  externalEndpointsFromEnv,
  isLoopbackUrl,
} from '../../../local/external-endpoints';
import { emulatorsNeeded, startEmulators } from '../../../local/emulators/start';

describe('externalEndpointsFromEnv', () => {
  test('is empty when no endpoint variable is set', () => {
    expect(externalEndpointsFromEnv({ AWS_REGION: 'eu-west-1' })).toEqual({});
  });

  test('AWS_ENDPOINT_URL_<SERVICE> names one service', () => {
    expect(externalEndpointsFromEnv({ AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' })).toEqual({
      dynamodb: 'http://127.0.0.1:8000',
    });
  });

  test('AWS_ENDPOINT_URL names every service, and a service-specific variable wins over it', () => {
    const endpoints = externalEndpointsFromEnv({
      AWS_ENDPOINT_URL: 'http://localhost:4566/',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
    });

    expect(endpoints).toEqual({
      kinesis: 'http://localhost:4566',
      dynamodb: 'http://127.0.0.1:8000',
      sns: 'http://localhost:4566',
      sqs: 'http://localhost:4566',
      s3: 'http://localhost:4566',
    });
  });

  test('an empty variable counts as unset, as in the SDK', () => {
    expect(
      externalEndpointsFromEnv({ AWS_ENDPOINT_URL: 'http://localhost:4566', AWS_ENDPOINT_URL_SQS: '' }).sqs,
    ).toBe('http://localhost:4566');
  });

  test('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores every endpoint variable', () => {
    expect(
      externalEndpointsFromEnv({
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
        AWS_ENDPOINT_URL: 'http://localhost:4566',
      }),
    ).toEqual({});
  });

  test.each(['localhost:8000', 'ftp://127.0.0.1:21', '127.0.0.1', 'http//x'])(
    'a bad URL (%s) is an error naming the variable that holds it',
    (value) => {
      const read = (): unknown => externalEndpointsFromEnv({ AWS_ENDPOINT_URL_KINESIS: value });

      expect(read).toThrow(EndpointVariableError);
      expect(read).toThrow(
        `AWS_ENDPOINT_URL_KINESIS: got ${JSON.stringify(value)}; must be an http:// or https:// URL`,
      );
    },
  );

  test('a bad global URL that every service overrides is never read', () => {
    const env = Object.fromEntries(
      ['KINESIS', 'DYNAMODB', 'SNS', 'SQS', 'S3'].map((s) => [`AWS_ENDPOINT_URL_${s}`, 'http://127.0.0.1:1']),
    );

    expect(() => externalEndpointsFromEnv({ ...env, AWS_ENDPOINT_URL: 'nonsense' })).not.toThrow();
  });
});

describe('emulatorsNeeded', () => {
  test('starts every emulator when nothing is external', () => {
    expect(emulatorsNeeded({})).toEqual(['kinesalite', 'dynalite', 'fauxqs']);
  });

  test('does not start dynalite for an external DynamoDB', () => {
    expect(emulatorsNeeded({ dynamodb: 'http://127.0.0.1:8000' })).toEqual(['kinesalite', 'fauxqs']);
  });

  test('keeps fauxqs while any of SNS, SQS and S3 is emulated', () => {
    expect(emulatorsNeeded({ sns: 'http://a:1', sqs: 'http://a:1' })).toEqual([
      'kinesalite',
      'dynalite',
      'fauxqs',
    ]);
    expect(emulatorsNeeded({ sns: 'http://a:1', sqs: 'http://a:1', s3: 'http://a:1' })).toEqual([
      'kinesalite',
      'dynalite',
    ]);
  });
});

describe('isLoopbackUrl', () => {
  test.each([
    ['http://127.0.0.1:8000', true],
    ['http://localhost:4566', true],
    ['http://[::1]:8000', true],
    ['http://localstack:4566', false],
    ['https://dynamodb.eu-west-1.amazonaws.com', false],
  ])('%s: %s', (url, loopback) => {
    expect(isLoopbackUrl(url)).toBe(loopback);
  });
});

describe('startEmulators with every service external', () => {
  test('starts nothing and hands out the external endpoints', async () => {
    const emulators = await startEmulators({
      external: {
        kinesis: 'http://localhost:4566',
        dynamodb: 'http://127.0.0.1:8000',
        sns: 'http://localhost:4566',
        sqs: 'http://localhost:4566',
        s3: 'http://localhost:4566',
      },
    });
    await emulators.stop();

    expect(emulators.endpoints).toEqual({
      region: 'us-east-1',
      kinesis: 'http://localhost:4566',
      dynamodb: 'http://127.0.0.1:8000',
      sns: 'http://localhost:4566',
      sqs: 'http://localhost:4566',
      s3: 'http://localhost:4566',
      external: ['kinesis', 'dynamodb', 'sns', 'sqs', 's3'],
    });
  });
});
