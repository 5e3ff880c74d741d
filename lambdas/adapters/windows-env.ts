/** The configured windows handed to a function as JSON in `SLUICE_WINDOWS` (readers of the aggregates table). */
import { WINDOWS_ENV, type WindowSpec } from '../../core/speed-config';
import { jsonListEnv } from './environment';

export function windowsEnv(who: string): WindowSpec[] {
  return jsonListEnv<WindowSpec>(
    WINDOWS_ENV,
    who,
    'a JSON list of windows {"name", "sizeMs", "hopMs"}',
    (item) => {
      const w = item as Partial<WindowSpec> | null;
      return typeof w?.name === 'string' && Number.isSafeInteger(w.sizeMs) && Number.isSafeInteger(w.hopMs);
    },
  );
}
