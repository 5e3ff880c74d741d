import { externalServicesLine } from '../../../cli/local';

describe('externalServicesLine', () => {
  test('says nothing when every service is emulated', () => {
    expect(externalServicesLine({})).toBeUndefined();
  });

  test('names each external service with its URL, then the emulated ones', () => {
    expect(externalServicesLine({ dynamodb: 'http://127.0.0.1:8000' })).toBe(
      'sluice local: external (AWS_ENDPOINT_URL*, not started here): dynamodb http://127.0.0.1:8000; emulated: kinesis, sns, sqs, s3',
    );
  });

  test('says when nothing is emulated', () => {
    const url = 'http://localhost:4566';
    expect(externalServicesLine({ kinesis: url, dynamodb: url, sns: url, sqs: url, s3: url })).toMatch(
      /; emulated: none$/,
    );
  });
});
