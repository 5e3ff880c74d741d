/** What chaos talks about: the services it can fail, where an invocation runs, the faults it injects and its counters. */

/** Services whose calls chaos can fail; S3 calls only fail once their invocation has crashed. */
export type ChaosService = 'dynamodb' | 'sns' | 's3';

/** Where an invocation runs: one shard, and one slot of it when the parallelization factor is > 1. */
export interface ChaosScope {
  readonly shardId: string;
  readonly slot: number;
  /**
   * The consumer (event source mapping) when more than one reads the shards, e.g. the alert
   * processor beside the aggregate processor: each consumer's slots draw their own faults.
   * @default - the stream's one consumer (scope keys as they always were)
   */
  readonly consumer?: string;
}

export type ChaosFaultKind = 'crash' | 'throttle' | 'lost-response' | 'outage' | 'storm' | 'redelivery';

/** One injected fault. `scope`, `invocation` and `call` locate it independently of timing. */
export interface ChaosFault {
  readonly kind: ChaosFaultKind;
  /** `<shardId>#<slot>` */
  readonly scope: string;
  /** Invocation number within the scope, from 0. */
  readonly invocation: number;
  /** Call number within the invocation, from 0, in the order the handler started them. */
  readonly call?: number;
  readonly service?: ChaosService;
  readonly command?: string;
  readonly errorName?: string;
  /** For crashes: UpdateItem calls started before the crash. */
  readonly afterUpdates?: number;
  /** For redeliveries: the replayed range of the slot's recent records, end exclusive. */
  readonly range?: { readonly start: number; readonly end: number };
  /** For storms: the storm's index in `storms`, and how the call failed. */
  readonly storm?: number;
  readonly stormFault?: 'error' | 'lost-response' | 'unprocessed-keys';
}

export interface ChaosCounters {
  invocations: number;
  faultyInvocations: number;
  /** Invocations that ran clean because their slot hit maxConsecutiveFaultyInvocations. */
  cleanInvocationsForced: number;
  crashes: number;
  throttles: number;
  lostResponses: number;
  outageFaults: number;
  /** Calls failed by a storm (errors, lost responses and unprocessed-keys answers). */
  stormFaults: number;
  redeliveries: number;
  redeliveredRecords: number;
}
