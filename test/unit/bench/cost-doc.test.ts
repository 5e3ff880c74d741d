import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DEFAULT_SETTINGS,
  estimate,
  markdownTable,
  tunedSettings,
  workload,
} from '../../../bench/cost-model';

const COST_DOC = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'cost.md'), 'utf8');

describe('docs/cost.md', () => {
  test.each([1_000, 10_000])('holds the model output for %d events/s, default and tuned', (rate) => {
    const label = rate.toLocaleString('en-US');

    expect(COST_DOC).toContain(
      markdownTable(`${label} events/s, default config`, estimate(workload(rate), DEFAULT_SETTINGS)),
    );
    expect(COST_DOC).toContain(
      markdownTable(`${label} events/s, tuned config`, estimate(workload(rate), tunedSettings(rate))),
    );
  });

  test('its summary table has the model totals', () => {
    for (const rate of [1_000, 10_000]) {
      for (const settings of [DEFAULT_SETTINGS, tunedSettings(rate)]) {
        const total = Math.round(estimate(workload(rate), settings).totalUsd).toLocaleString('en-US');
        expect(COST_DOC).toContain(`$${total} |`);
      }
    }
  });
});
