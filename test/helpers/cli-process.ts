import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/**
 * The built `cerulean` command run as a real child process (`npm run build` / `npm test` builds
 * dist/ first): `runCli` for a command that exits, `startServe` for a server. The child gets PATH
 * and the given variables only, so nothing from the test's own environment leaks into it.
 */
export const BIN = fileURLToPath(new URL('../../bin/cerulean.js', import.meta.url));
export const BUILT_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliOptions {
  cwd: string;
  /** Added to PATH, the only variable the child inherits. */
  env?: NodeJS.ProcessEnv;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnCli(args: string[], options: CliOptions): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { PATH: process.env.PATH, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `cerulean ARGS` to its exit; resolves with the exit code (null when a signal ended it) and what it wrote. */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** A running `cerulean serve` process. */
export interface Serving {
  /** Names the process in failure messages. */
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** What the process wrote to stdout so far. */
  stdout(): string;
  /** Everything it wrote so far, stdout and stderr interleaved (for failure messages and log lines). */
  output(): string;
  /** Resolves with the exit code once the process has exited (-1 when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL if still running; never throws. */
  kill(): void;
}

/**
 * Spawns `cerulean ARGS` (a `serve` command) and resolves once it prints "Cerulean listening on
 * URL". Rejects (and kills the process) when it exits first or prints nothing within
 * `startTimeoutMs`.
 */
export function startServe(args: string[], options: CliOptions & { name?: string; startTimeoutMs?: number }): Promise<Serving> {
  const name = options.name ?? 'cerulean serve';
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const child = spawnCli(args, options);
  let stdout = '';
  let out = '';
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString();
    out += data.toString();
  });
  child.stderr.on('data', (data: Buffer) => (out += data.toString()));
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
      reject(new Error(`${name}: no URL printed within ${startTimeoutMs} ms; output:\n${out}`));
    }, startTimeoutMs);
    const check = (): void => {
      const match = /Cerulean listening on (http:\/\/\S+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve({ name, url: match[1], child, stdout: () => stdout, output: () => out, exited, stop, kill });
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited (${code}) before listening; output:\n${out}`));
    });
  });
}
