import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/master-key.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startService, type Service } from '../../src/service/service.js';
import { MASTER_KEY } from '../helpers/cerulean.js';

// Behind a reverse proxy every connection comes from the proxy; `server.trust_proxy` says whose
// `x-forwarded-for` to believe, so that the audit log and the access lines name the real caller.

const CALLER = '203.0.113.7';
let service: Service | undefined;

afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function createOrganizationThroughProxy(serverYaml: string): Promise<{ source: string | null; accessIps: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cerulean-proxy-'));
  const config = parseConfig(`data_dir: ${JSON.stringify(dataDir)}\n${serverYaml}`, 'test.yaml', {});
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  service = await startService(config, { masterHash: hashKey(MASTER_KEY), version: 'test', logger: createLogger('info', sink) });
  const url = await service.server.listen('127.0.0.1', 0);
  const headers = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', 'x-forwarded-for': CALLER };
  const created = await fetch(`${url}/admin/v1/organizations`, { method: 'POST', headers, body: JSON.stringify({ name: 'Acme', id: 'org_proxy' }) });
  expect(created.status).toBe(201);
  const audit = await fetch(`${url}/admin/v1/audit?action=organizations.create`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  const entries = ((await audit.json()) as { data: Array<{ source: string | null }> }).data;
  expect(entries).toHaveLength(1);
  const accessIps = lines
    .map((line) => JSON.parse(line) as { msg?: string; url?: string; ip?: string })
    .filter((line) => line.msg === 'request' && line.url === '/admin/v1/organizations')
    .map((line) => line.ip ?? '');
  return { source: entries[0].source, accessIps };
}

describe('server.trust_proxy', () => {
  it('records the forwarded caller when the proxy is trusted', async () => {
    const seen = await createOrganizationThroughProxy('server: { trust_proxy: ["127.0.0.1"] }');
    expect(seen.source).toBe(CALLER);
    expect(seen.accessIps).toEqual([CALLER]);
  });

  it('trusts a CIDR range', async () => {
    expect((await createOrganizationThroughProxy('server: { trust_proxy: ["10.0.0.0/8", "127.0.0.0/8"] }')).source).toBe(CALLER);
  });

  it('ignores x-forwarded-for by default: the socket address is recorded', async () => {
    const seen = await createOrganizationThroughProxy('');
    expect(seen.source).toBe('127.0.0.1');
    expect(seen.accessIps).toEqual(['127.0.0.1']);
  });

  it('ignores x-forwarded-for from a peer that is not a trusted proxy', async () => {
    const seen = await createOrganizationThroughProxy('server: { trust_proxy: ["10.0.0.1"] }');
    expect(seen.source).toBe('127.0.0.1');
  });

  it('rejects a value of the wrong shape, and a hop count, with its path', () => {
    expect(() => parseConfig('server: { trust_proxy: "yes" }', 'test.yaml', {})).toThrow(/server\.trust_proxy/);
    expect(() => parseConfig('server: { trust_proxy: 1 }', 'test.yaml', {})).toThrow(/server\.trust_proxy/);
  });
});
