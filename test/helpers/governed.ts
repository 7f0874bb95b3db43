import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { hashKey } from '../../src/auth/master-key.js';
import { parseConfig } from '../../src/config/load.js';
import type { Governance } from '../../src/service/governance.js';
import type { CeruleanServer } from '../../src/server/app.js';
import { startService, type Service } from '../../src/service/service.js';
import { callJson } from './call-json.js';
import { MASTER_KEY } from './cerulean.js';

export interface GovernedCerulean {
  url: string;
  server: CeruleanServer;
  governance: Governance;
  dataDir: string;
  /** OpenTelemetry tracing, when the configuration turns it on. */
  tracing: Service['tracing'];
  /** Calls the admin API as the master key (or another credential). */
  admin<T = any>(method: string, path: string, body?: unknown, credential?: string): Promise<{ status: number; body: T; headers: Headers }>;
  close(): Promise<void>;
}

/** Starts Cerulean with governance on (SQLite in a temporary directory unless the YAML names storage). */
export async function startGovernedCerulean(
  yaml: string,
  env: NodeJS.ProcessEnv = {},
  options: { logger?: FastifyBaseLogger } = {},
): Promise<GovernedCerulean> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cerulean-gov-'));
  const config = parseConfig(`data_dir: ${JSON.stringify(dataDir)}\n${yaml}`, 'test.yaml', env);
  const service = await startService(config, { masterHash: hashKey(MASTER_KEY), version: 'test', logger: options.logger });
  const { server, governance } = service;
  const url = await server.listen('127.0.0.1', 0);
  return {
    url,
    server,
    governance,
    dataDir,
    tracing: service.tracing,
    admin: (method, path, body, credential = MASTER_KEY) => callJson(url, method, `/admin/v1${path}`, credential, body),
    close: () => service.close(),
  };
}
