/**
 * Early validation of construct props. Every message names the prop, the value given and what is
 * allowed, like `aws-lambda-event-sources` does ("... must be between 1 and 10000 inclusive (given
 * 20000)"). Unresolved tokens are skipped: their value is only known at deploy time.
 */
import { Duration, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Raised for a construct prop that cannot be deployed; thrown at synth, before any resource exists. */
export class SluicePropsError extends Error {
  public override readonly name = 'SluicePropsError';
  constructor(scope: IConstruct, prop: string, given: string, allowed: string) {
    super(`${scope.node.path}: ${prop} ${allowed} (given ${given})`);
  }
}

/** Checks an integer prop; skips tokens. */
export function checkInteger(
  scope: IConstruct,
  prop: string,
  value: number | undefined,
  min: number,
  max: number,
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SluicePropsError(
      scope,
      prop,
      String(value),
      `must be an integer between ${min} and ${max} inclusive`,
    );
  }
}

type DurationUnit = 'seconds' | 'minutes' | 'hours';

function wholeUnits(duration: Duration, unit: DurationUnit): number | undefined {
  try {
    if (unit === 'seconds') return duration.toSeconds();
    return unit === 'minutes' ? duration.toMinutes() : duration.toHours();
  } catch {
    return undefined; // not a whole number of `unit`
  }
}

/** Checks that a duration is a whole number of `unit` within [min, max] of that unit; skips tokens. */
export function checkDuration(
  scope: IConstruct,
  prop: string,
  value: Duration | undefined,
  min: number,
  max: number,
  unit: DurationUnit,
): void {
  if (value === undefined || value.isUnresolved()) return;
  const amount = wholeUnits(value, unit);
  if (amount === undefined || amount < min || amount > max) {
    throw new SluicePropsError(
      scope,
      prop,
      value.toHumanString(),
      `must be a whole number of ${unit} between ${min} and ${max} ${unit} inclusive`,
    );
  }
}
