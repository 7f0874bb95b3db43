import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The full replay of the Dockerfile installs dependencies twice and runs in CI's release step
// (node scripts/check-deploy.mjs); here only what is quick: the compose file and its references.
describe('deployment files', () => {
  it('deploy/compose.yaml parses, and its build, mounts, volumes, dependencies and nginx upstreams are consistent', () => {
    const result = spawnSync(process.execPath, ['scripts/check-deploy.mjs', '--compose-only'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/compose\.yaml: 5 services/);
  });
});
