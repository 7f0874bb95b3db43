import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashKey } from '../../src/auth/master-key.js';
import { parseConfig } from '../../src/config/load.js';
import { startGovernance, type Governance } from '../../src/governance/governance.js';
import { Metrics } from '../../src/observability/metrics.js';
import { createContentSafety } from '../../src/safety/content-safety.js';
import { createServer, type CeruleanServer } from '../../src/server/app.js';
import { MASTER_KEY } from './cerulean.js';

export interface GovernedCerulean {
  url: string;
  server: CeruleanServer;
  governance: Governance;
  dataDir: string;
  /** Calls the admin API as the master key (or another credential). */
  admin<T = any>(method: string, path: string, body?: unknown, credential?: string): Promise<{ status: number; body: T; headers: Headers }>;
  close(): Promise<void>;
}

/** Starts Cerulean with governance on (SQLite in a temporary directory unless the YAML names storage). */
export async function startGovernedCerulean(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<GovernedCerulean> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cerulean-gov-'));
  const config = parseConfig(`data_dir: ${JSON.stringify(dataDir)}\n${yaml}`, 'test.yaml', env);
  const metrics = new Metrics();
  const governance = await startGovernance(config, { masterHash: hashKey(MASTER_KEY), registry: metrics.registry });
  let current: CeruleanServer | undefined;
  const safety = createContentSafety(config, {
    deployments: () => (current as CeruleanServer).deployments(),
    projects: governance.cache,
    observers: governance.abuse ? [governance.abuse] : [],
  });
  const server = createServer({
    config,
    authenticator: governance.authenticator,
    metrics,
    admit: governance.admission,
    filter: safety.stage,
    moderation: safety.moderation,
    meters: [governance.meter],
    admin: { storage: governance.storage, version: 'test', filterPolicies: () => safety.policyNames() },
    onReload: (next) => safety.reload(next),
  });
  current = server;
  const url = await server.listen('127.0.0.1', 0);
  return {
    url,
    server,
    governance,
    dataDir,
    async admin(method, path, body, credential = MASTER_KEY) {
      const response = await fetch(`${url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // CSV or empty
      }
      return { status: response.status, body: parsed as any, headers: response.headers };
    },
    async close() {
      await server.shutdown();
      await governance.close();
    },
  };
}
