import { hashKey, MasterKeyAuthenticator } from '../../src/auth/master-key.js';
import { parseConfig } from '../../src/config/load.js';
import { createServer, type CeruleanServer } from '../../src/server/app.js';

export const MASTER_KEY = 'cer-master-test-key-0123456789abcdef';

export interface RunningCerulean {
  url: string;
  server: CeruleanServer;
  close(): Promise<void>;
}

/** Starts Cerulean in-process on a free port with the given YAML configuration. */
export async function startCerulean(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<RunningCerulean> {
  const config = parseConfig(yaml, 'test.yaml', env);
  const server = createServer({ config, authenticator: new MasterKeyAuthenticator(hashKey(MASTER_KEY)) });
  const url = await server.listen('127.0.0.1', 0);
  return { url, server, close: () => server.shutdown() };
}
