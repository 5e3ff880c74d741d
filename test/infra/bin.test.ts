import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

describe('bin/sluice.ts through cdk synth', () => {
  test('exits non-zero with field, value and allowed values for a bad -c config file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bin-'));
    const configFile = path.join(dir, 'bad.config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        windows: [
          { name: '1m', size: '1m' },
          { name: '5m', size: '5m', hop: '10m' },
        ],
      }),
    );
    try {
      // The config is rejected before any asset is bundled, so this stays fast and offline.
      const result = spawnSync(
        path.join(ROOT, 'node_modules', '.bin', 'cdk'),
        ['synth', '--quiet', '-c', `config=${configFile}`, '--output', path.join(dir, 'cdk.out')],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' } },
      );

      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('windows[1].hop: got "10m"; must not be larger than size (5m)');
      expect(result.stderr).not.toMatch(/^\s+at /m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
