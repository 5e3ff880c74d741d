/** The configured windows handed to a function as JSON in `SLUICE_WINDOWS` (readers of the aggregates table). */
import { WINDOWS_ENV, type WindowSpec } from '../../core/speed-config';
import { MissingEnvironmentError, requiredEnv } from './environment';

export function windowsEnv(who: string): WindowSpec[] {
  const text = requiredEnv(WINDOWS_ENV, who);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.length > 0 &&
    parsed.every(
      (w: Partial<WindowSpec>) =>
        typeof w?.name === 'string' && Number.isSafeInteger(w.sizeMs) && Number.isSafeInteger(w.hopMs),
    );
  if (!valid) {
    throw new MissingEnvironmentError(
      `Environment variable ${WINDOWS_ENV} is not a list of windows: ${text}`,
    );
  }
  return parsed as WindowSpec[];
}
