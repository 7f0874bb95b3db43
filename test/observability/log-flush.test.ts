import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * Lines an operator tails must not sit in the write buffer: the logger of the built service (`npm
 * test` builds first) in a child process whose stdout is a pipe, as under a process supervisor.
 */
const LOGGER = new URL('../../dist/observability/logger.js', import.meta.url).href;

const children: Array<{ kill(): boolean }> = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

/** Runs `body` after creating the service's logger; resolves to a reader of what reached stdout so far. */
function run(body: string): () => string {
  const script = `import { createLogger } from ${JSON.stringify(LOGGER)};\nconst logger = createLogger('info');\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (data: Buffer) => (out += data.toString()));
  return () => out;
}

describe('log flushing', () => {
  it('writes an error line out at once, even while the process is too busy to run a timer', async () => {
    // The event loop is then blocked for 20 s: only a write issued at the time of logging gets out.
    const out = run(`logger.info({ n: 1 }, 'an access line');
logger.error({ problem: 'x' }, 'something failed');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20_000);`);
    await expect.poll(out, { timeout: 5_000, interval: 50 }).toContain('something failed');
    // Everything buffered before it goes out with it, in order.
    expect(out().indexOf('an access line')).toBeLessThan(out().indexOf('something failed'));
  });

  it('writes buffered info lines within about a second', async () => {
    const out = run(`logger.info({ n: 1 }, 'configuration reloaded');
setTimeout(() => {}, 20_000);`);
    await expect.poll(out, { timeout: 5_000, interval: 50 }).toContain('configuration reloaded');
  });
});
