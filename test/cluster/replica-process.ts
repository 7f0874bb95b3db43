import { startServe, type Serving } from '../helpers/cli-process.js';

export { BIN, BUILT_MAIN } from '../helpers/cli-process.js';

/** One `cerulean serve` replica. */
export type Replica = Serving;

/** Starts `cerulean serve --config FILE --port 0` in `cwd` (see `startServe`), named `name` in failure messages. */
export function startReplica(name: string, configFile: string, options: { cwd: string; env: NodeJS.ProcessEnv; startTimeoutMs?: number }): Promise<Replica> {
  return startServe(['serve', '--config', configFile, '--port', '0'], { ...options, name });
}
