/**
 * Chaos as SDK v3 middleware: `applyChaos` puts it on the handler's clients so that their calls go
 * through `Chaos.intercept`; handler code is unchanged.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Chaos } from './chaos';
import type { ChaosService } from './types';

const MIDDLEWARE_NAME = 'sluiceChaos';

/** Clients whose calls chaos may fail. S3 is optional: it only fails after a crash. */
export interface ChaosTargets {
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly s3?: S3Client;
}

/**
 * Adds the chaos middleware to the clients' middleware stacks (at the initialize step, above the
 * SDK's retry layer, so a fault reaches the handler as if the SDK's own retries were exhausted).
 * Applying it again replaces the previous chaos on those clients.
 */
export function applyChaos(clients: ChaosTargets, chaos: Chaos): void {
  const targets: Array<[ChaosService, ChaosClient | undefined]> = [
    ['dynamodb', clients.dynamodb as unknown as ChaosClient],
    ['sns', clients.sns as unknown as ChaosClient],
    ['s3', clients.s3 as unknown as ChaosClient | undefined],
  ];
  for (const [service, client] of targets) {
    client?.middlewareStack.add(
      (next, context) => (args) =>
        chaos.intercept(
          service,
          context.commandName ?? 'unknown',
          () => next(args),
          () => unprocessedKeysAnswer(args),
        ),
      { step: 'initialize', name: MIDDLEWARE_NAME, priority: 'high', override: true },
    );
  }
}

/** A BatchGetItem answer that reads nothing and leaves every requested key unprocessed. */
function unprocessedKeysAnswer(args: unknown): unknown {
  const requestItems =
    (args as { input?: { RequestItems?: Record<string, unknown> } }).input?.RequestItems ?? {};
  return {
    output: {
      $metadata: { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 },
      Responses: Object.fromEntries(Object.keys(requestItems).map((table) => [table, []])),
      UnprocessedKeys: requestItems,
    },
    response: {},
  };
}

/** Removes chaos from clients it was applied to. */
export function removeChaos(clients: ChaosTargets): void {
  for (const client of [clients.dynamodb, clients.sns, clients.s3] as Array<ChaosClient | undefined>) {
    client?.middlewareStack.remove(MIDDLEWARE_NAME);
  }
}

/**
 * The slice of a client's middleware stack chaos needs, typed loosely: the three clients have
 * different input and output types, and the middleware passes both through untouched.
 */
interface ChaosClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high'; override: boolean },
    ): void;
    remove(name: string): boolean;
  };
}
