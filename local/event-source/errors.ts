/** What the event source runner raises, and what its invocations fail with. */
import { UserError } from '../../contract/user-error';

/** Raised for runner options out of range: names the option, the value and what is allowed. */
export class EventSourceRunnerConfigError extends UserError {
  public override readonly name = 'EventSourceRunnerConfigError';
}

/** Raised when the runner is used out of order (started twice, drained when not running). */
export class RunnerStateError extends Error {
  public override readonly name = 'RunnerStateError';
}

/** Raised by `drain` when the stream is not fully processed in time. */
export class DrainTimeoutError extends Error {
  public override readonly name = 'DrainTimeoutError';
}

/** What an invocation that ran past `functionTimeoutMs` fails with. */
export class InvocationTimeoutError extends Error {
  public override readonly name = 'Sandbox.Timedout';
}

/** A handler response that fails the whole batch (bad `batchItemFailures`). */
export class InvalidBatchResponseError extends Error {
  public override readonly name = 'InvalidBatchResponseError';
}
