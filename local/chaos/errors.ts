/**
 * The errors chaos raises: its own (a crash, a lost response, bad options) and, built here, the
 * errors the AWS SDK raises for a throttled or unavailable service, with their metadata and retry hints.
 */
import {
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { InternalErrorException, SNSServiceException, ThrottledException } from '@aws-sdk/client-sns';
import { UserError } from '../../contract/user-error';
import { hashSeed } from './prng';
import type { ChaosService } from './types';

/** The error an invocation sees once chaos has crashed it. */
export class SimulatedCrashError extends Error {
  public override readonly name = 'SimulatedCrashError';
}

/** A response lost after the request succeeded; shaped like the SDK's socket timeout. */
export class SimulatedLostResponseError extends Error {
  public override readonly name = 'TimeoutError';
  public readonly code = 'ETIMEDOUT';
  public readonly $metadata = { attempts: 1, totalRetryDelay: 0 };
}

/** Raised for chaos options out of range. */
export class ChaosConfigError extends UserError {
  public override readonly name = 'ChaosConfigError';
}

export function lostResponseError(command: string): SimulatedLostResponseError {
  return new SimulatedLostResponseError(
    `chaos: lost the response to ${command} (the request succeeded); socket timed out`,
  );
}

/** The response metadata of a simulated service error; the request id is stable per call. */
function errorMetadata(httpStatusCode: number, scope: string, invocation: number, call: number) {
  return {
    httpStatusCode,
    requestId: `chaos-${hashSeed(scope, invocation, call).toString(16)}`,
    attempts: 1,
    totalRetryDelay: 0,
  };
}

/** The error the SDK raises for an HTTP 500 from the service. */
export function unavailableError(
  service: Exclude<ChaosService, 's3'>,
  scope: string,
  invocation: number,
  call: number,
): DynamoDBServiceException | SNSServiceException {
  const $metadata = errorMetadata(500, scope, invocation, call);
  const error =
    service === 'sns'
      ? new InternalErrorException({ $metadata, message: 'Internal Error' })
      : new InternalServerError({ $metadata, message: 'Internal server error' });
  error.$retryable = {};
  return error;
}

/** The error the SDK raises when the service throttles a call, with its metadata and retry hints. */
export function throttleError(
  service: Exclude<ChaosService, 's3'>,
  scope: string,
  invocation: number,
  call: number,
  pick: number,
): DynamoDBServiceException | SNSServiceException {
  const $metadata = errorMetadata(400, scope, invocation, call);
  let error: DynamoDBServiceException | SNSServiceException;
  if (service === 'sns') {
    error = new ThrottledException({ $metadata, message: 'Rate exceeded' });
  } else if (pick < 0.5) {
    error = new ProvisionedThroughputExceededException({
      $metadata,
      message:
        'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
    });
  } else {
    error = new ThrottlingException({
      $metadata,
      message: 'Rate of requests exceeds the allowed throughput.',
    });
  }
  error.$retryable = { throttling: true };
  return error;
}
