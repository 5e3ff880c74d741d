/** Reading a deployed function's settings from its environment, failing with a message that says which. */

/** A variable the function cannot start without is missing or malformed (a deployment error). */
export class MissingEnvironmentError extends Error {
  public override readonly name = 'MissingEnvironmentError';
}

/** The value of `name`; throws when it is unset or empty. `who` names the function in the message. */
export function requiredEnv(name: string, who: string): string {
  const value = process.env[name];
  if (!value)
    throw new MissingEnvironmentError(`Environment variable ${name} is not set; ${who} cannot start`);
  return value;
}

/** The finite number in `name`; throws when it is unset or not a number. */
export function numberEnv(name: string, who: string): number {
  const value = Number(requiredEnv(name, who));
  if (!Number.isFinite(value)) {
    throw new MissingEnvironmentError(`Environment variable ${name} is not a number: ${process.env[name]}`);
  }
  return value;
}

/**
 * The non-empty JSON list in `name` whose every element `isItem` accepts; throws naming the variable,
 * its value and `expected` (what it must be) otherwise, and when it is unset. `env`: for tests.
 */
export function jsonListEnv<T>(
  name: string,
  who: string,
  expected: string,
  isItem: (item: unknown) => boolean,
  env: NodeJS.ProcessEnv = process.env,
): T[] {
  const value = env[name];
  if (!value)
    throw new MissingEnvironmentError(`Environment variable ${name} is not set; ${who} cannot start`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every(isItem))
    throw new MissingEnvironmentError(
      `Environment variable ${name} is ${JSON.stringify(value)}; it must be ${expected}`,
    );
  return parsed as T[];
}
