import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built command (`npx tsc -p tsconfig.json` / `npm test` builds dist/ first). */
export const BIN = fileURLToPath(new URL('../../bin/cerulean.js', import.meta.url));
export const BUILT_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** One `cerulean serve` process. */
export interface Replica {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far (for failure messages). */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL if still running; never throws. */
  kill(): void;
}

/**
 * Spawns `node bin/cerulean.js serve --config FILE --port 0` in `cwd` and resolves once it prints
 * the URL it listens on. Rejects (and kills the process) when it exits first or prints nothing
 * within `startTimeoutMs`.
 */
export function startReplica(name: string, configFile: string, options: { cwd: string; env: NodeJS.ProcessEnv; startTimeoutMs?: number }): Promise<Replica> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configFile, '--port', '0'], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (data: Buffer) => (out += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (out += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const stop = async (graceMs = 15_000): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(kill, graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${name}: no URL printed within ${options.startTimeoutMs ?? 20_000} ms; output:\n${out}`));
    }, options.startTimeoutMs ?? 20_000);
    const check = (): void => {
      const match = /Cerulean listening on (http:\/\/\S+)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      resolve({ name, url: match[1], child, output: () => out, exited, stop, kill });
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited (${code}) before listening; output:\n${out}`));
    });
  });
}
