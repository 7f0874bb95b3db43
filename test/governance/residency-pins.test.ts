import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BudgetGuard } from '../../src/governance/budget/budget-guard.js';
import { GovernanceAdmission } from '../../src/governance/governance-admission.js';
import { PolicyCache } from '../../src/governance/policy-cache.js';
import type { Principal } from '../../src/pipeline/authenticate.js';
import type { InferenceContext } from '../../src/pipeline/context.js';
import type { QuotaAdmission } from '../../src/ratelimit/quota-admission.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { keyRecord } from '../storage/storage-test-support.js';

/**
 * The pin in force is built with the policy snapshot, not per request: a key's on its principal
 * (its project's narrowed by its own), a token caller's from its project; admission hands it to
 * routing. Unpinned projects and keys carry nothing, so routing does no residency work for them.
 */
let storage: Storage;
let cache: PolicyCache;

beforeEach(async () => {
  storage = await openStorage('sqlite::memory:');
  await storage.migrate();
  await storage.organizations.create({ id: 'org_1', name: 'Org', createdAt: 0 });
  await storage.projects.create({
    id: 'proj_eu',
    organizationId: 'org_1',
    name: 'EU',
    keyAuthEnabled: true,
    dataZone: 'eu',
    regions: ['westeurope', 'swedencentral'],
    createdAt: 0,
  });
  await storage.projects.create({ id: 'proj_free', organizationId: 'org_1', name: 'Free', keyAuthEnabled: true, dataZone: null, regions: null, createdAt: 0 });
  await storage.keys.create(keyRecord('key_narrow', 'proj_eu', { regions: ['swedencentral'] }));
  await storage.keys.create(keyRecord('key_eu', 'proj_eu'));
  await storage.keys.create(keyRecord('key_free', 'proj_free'));
  await storage.keys.create(keyRecord('key_us', 'proj_free', { dataZone: 'us' }));
  cache = new PolicyCache(storage);
  await cache.start();
});

afterEach(async () => {
  await cache.close();
  await storage.close();
});

const principalOf = (keyId: string): Principal => cache.keyByHash(keyRecord(keyId).hash)!.principal;

describe('residency pins in the policy cache', () => {
  it("puts the pin in force on each key's principal: its project's, narrowed by its own; none for an unpinned key of an unpinned project", () => {
    const narrow = principalOf('key_narrow');
    expect(narrow.kind === 'key' && narrow.residency).toMatchObject({ zone: 'eu', contradictory: false });
    expect(narrow.kind === 'key' && [...(narrow.residency?.regions ?? [])]).toEqual(['swedencentral']);
    const inherited = principalOf('key_eu');
    expect(inherited.kind === 'key' && inherited.residency?.policy).toBe('data zone "eu" (project), regions westeurope, swedencentral (project)');
    const own = principalOf('key_us');
    expect(own.kind === 'key' && own.residency?.policy).toBe('data zone "us" (key)');
    expect(principalOf('key_free')).not.toHaveProperty('residency');
  });

  it("gives token callers their project's pin, and follows a change on the next reload", async () => {
    expect(cache.projectPin('proj_eu')?.zone).toBe('eu');
    expect(cache.projectPin('proj_free')).toBeUndefined();
    await storage.projects.update('proj_free', { regions: ['eastus'] });
    await storage.keys.update('key_free', { dataZone: 'us' });
    await cache.reload();
    expect(cache.projectPin('proj_free')?.policy).toBe('regions eastus (project)');
    const updated = principalOf('key_free');
    expect(updated.kind === 'key' && updated.residency?.policy).toBe('data zone "us" (key), regions eastus (project)');
  });
});

describe('admission', () => {
  const quotas = { defaultMaxTokens: {}, admit: async () => ({ estimatedTokens: 0, headers: {}, settle: async () => {} }) } as unknown as QuotaAdmission;
  const budgets = { applies: () => false } as unknown as BudgetGuard;
  const contextFor = (principal: Principal, projectHint?: string) =>
    ({
      id: 'req_1',
      deployment: 'chat',
      operation: 'chat',
      api: { estimateTokens: () => 0, billedImages: () => 0 },
      body: {},
      principal,
      projectHint,
      route: { target: { deployment: 'chat', model: 'm' } },
    }) as unknown as InferenceContext;

  it("hands routing the key's pin, a token caller's project pin, and nothing for an unpinned caller", async () => {
    const admission = new GovernanceAdmission({ cache, quotas, budgets });
    const keyed = contextFor(principalOf('key_narrow'));
    await admission.admit(keyed);
    expect(keyed.residency).toBe((principalOf('key_narrow') as { residency?: unknown }).residency);
    const user: Principal = { kind: 'user', id: 'user_1', organizationId: 'org_1', roles: [{ scope: 'project', scopeId: 'proj_eu', role: 'user' }] };
    const token = contextFor(user, 'proj_eu');
    await admission.admit(token);
    expect(token.residency).toBe(cache.projectPin('proj_eu'));
    const free = contextFor(principalOf('key_free'));
    await admission.admit(free);
    expect(free.residency).toBeUndefined();
  });
});
