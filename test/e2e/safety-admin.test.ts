import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminContext } from '../../src/admin/admin-routes.js';
import { adminOperation } from '../../src/admin/admin-operations.js';
import { MASTER_PRINCIPAL } from '../../src/auth/master-key.js';
import { parseConfig } from '../../src/config/load.js';
import type { InferenceContext } from '../../src/pipeline/context.js';
import { AbuseMonitor } from '../../src/safety/abuse/abuse-monitor.js';
import type { FilterDecision } from '../../src/safety/content-filter.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * The content-safety admin API: projects' blocklists and content-filter choices (loaded into the
 * policy cache), and the abuse review queue (dismiss, suspend, reinstate) with its effect on keys.
 */
const ISSUER = 'https://login.example.test/safety/v2.0';
const AUDIENCE = 'api://cerulean';
const PROJECT = 'proj_safe';

let upstream: OpenAIFixture;
let jwks: Server;
let privateKey: CryptoKey;
let cerulean: GovernedCerulean;
/** The configuration the gateway started with (without data_dir), to reload variants of it. */
let yaml: string;

async function token(subject: string): Promise<string> {
  return new SignJWT({ email: `${subject}@acme.test` })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);
}

async function assignRole(subject: string, role: string): Promise<void> {
  const user = await cerulean.admin('POST', '/users', { organization: 'org_safe', email: `${subject}@acme.test`, issuer: ISSUER, subject });
  expect(user.status).toBe(201);
  expect((await cerulean.admin('PUT', `/users/${user.body.id}/roles`, { scope: 'project', scope_id: PROJECT, role })).status).toBe(200);
}

async function createKey(project = PROJECT): Promise<{ id: string; key: string }> {
  const response = await cerulean.admin('POST', `/projects/${project}/keys`, { name: 'safety' });
  expect(response.status).toBe(201);
  return response.body;
}

async function chatStatus(key: string): Promise<number | string> {
  const client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: key, maxRetries: 0 });
  try {
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hello' }] });
    return 200;
  } catch (error) {
    const { status, code } = error as { status: number; code?: string };
    return code ? `${status} ${code}` : status;
  }
}

async function auditActions(action: string): Promise<Array<Record<string, any>>> {
  const response = await cerulean.admin('GET', `/audit?action=${encodeURIComponent(action)}&project=${PROJECT}`);
  expect(response.status).toBe(200);
  return response.body.data;
}

const BLOCKED: FilterDecision = {
  results: { violence: { filtered: true, severity: 'high' } },
  blocked: true,
  flagged: true,
  worst: { category: 'violence', severity: 'high' },
};

let requestCounter = 0;

/** Opens reviews the way the running gateway would: an abuse monitor fed blocked verdicts for a key. */
async function openReviewsFor(keyId: string, user?: string): Promise<void> {
  const monitor = new AbuseMonitor({
    config: {
      window_minutes: 15,
      long_window_hours: 24,
      flag_threshold: 2,
      block_threshold: 1000,
      suspend_threshold: undefined,
      actions: ['notify'],
      webhook_url: undefined,
      webhook_timeout_ms: 1000,
      throttle_minutes: 1,
      sample_retention_days: 30,
    },
    storage: cerulean.governance.storage,
  });
  await monitor.start();
  try {
    for (let i = 0; i < 2; i++) {
      const context = {
        id: `req_safety_${++requestCounter}`,
        deployment: 'chat',
        principal: { kind: 'key', id: keyId, organizationId: 'org_safe', projectId: PROJECT, deployments: null },
        projectId: PROJECT,
        organizationId: 'org_safe',
        body: user ? { user } : {},
      } as unknown as InferenceContext;
      monitor.observe(context, 'prompt', BLOCKED, `how do I hurt someone, attempt ${i}`);
    }
    await monitor.flush();
  } finally {
    await monitor.close();
  }
}

beforeAll(async () => {
  upstream = await startOpenAIFixture();
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  yaml = `
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
  embed: { provider: up, model: text-embedding-3-small }
content_safety:
  policies:
    strict: { prompt: { hate: low, sexual: low, violence: low, self_harm: low } }
    lenient: { prompt: { hate: high, sexual: high, violence: high, self_harm: high } }
  deployments: { embed: strict }
auth:
  oidc:
    - issuer: "${ISSUER}"
      audience: "${AUDIENCE}"
      jwks_uri: "http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys"
      organization: org_safe
`;
  cerulean = await startGovernedCerulean(yaml);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Safe', id: 'org_safe' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_safe', name: 'Safe', id: PROJECT })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_safe', name: 'Other', id: 'proj_other' })).status).toBe(201);
  await assignRole('alice', 'admin');
  await assignRole('carl', 'contributor');
  await assignRole('rita', 'reader');
  await assignRole('ursula', 'user');
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
  await new Promise((resolve) => jwks?.close(resolve));
});

describe('blocklists', () => {
  it('creates, lists, fills, empties and deletes a blocklist, auditing every change', async () => {
    const created = await cerulean.admin('POST', `/projects/${PROJECT}/blocklists`, { name: 'Codenames' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^bl_/), projectId: PROJECT, name: 'Codenames', terms: [] });
    const id: string = created.body.id;
    expect((await cerulean.admin('POST', `/projects/${PROJECT}/blocklists`, { name: 'Codenames' })).body.error.code).toBe('duplicate_blocklist');
    expect((await cerulean.admin('POST', '/projects/proj_missing/blocklists', { name: 'x' })).status).toBe(404);

    const exact = await cerulean.admin('POST', `/blocklists/${id}/terms`, { value: '  Project   Falcon ' });
    expect(exact.status).toBe(201);
    expect(exact.body).toMatchObject({ id: expect.stringMatching(/^blt_/), blocklistId: id, kind: 'exact', value: 'Project Falcon' });
    const regex = await cerulean.admin('POST', `/blocklists/${id}/terms`, { kind: 'regex', value: 'falcon-\\d{3}' });
    expect(regex.status).toBe(201);

    const listed = await cerulean.admin('GET', `/projects/${PROJECT}/blocklists`);
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.data[0].terms.map((term: { value: string }) => term.value)).toEqual(['Project Falcon', 'falcon-\\d{3}']);
    expect((await cerulean.admin('GET', `/blocklists/${id}`)).body.terms).toHaveLength(2);

    const removed = await cerulean.admin('DELETE', `/blocklists/${id}/terms/${exact.body.id}`);
    expect(removed.status).toBe(200);
    expect((await cerulean.admin('DELETE', `/blocklists/${id}/terms/${exact.body.id}`)).status).toBe(404);
    expect((await cerulean.admin('DELETE', `/blocklists/${id}`)).status).toBe(200);
    expect((await cerulean.admin('GET', `/blocklists/${id}`)).status).toBe(404);
    expect((await cerulean.admin('DELETE', `/blocklists/${id}`)).status).toBe(404);

    expect((await auditActions('blocklists.create')).map((entry) => entry.target)).toContain(`blocklist:${id}`);
    const added = await auditActions('blocklists.add_term');
    expect(added.filter((entry) => entry.target === `blocklist:${id}`)).toHaveLength(2);
    expect((await auditActions('blocklists.remove_term')).at(-1)).toMatchObject({ actor: 'master', before: { value: 'Project Falcon' }, after: null });
    expect((await auditActions('blocklists.delete')).at(-1)).toMatchObject({
      target: `blocklist:${id}`,
      before: { name: 'Codenames', terms: [{ kind: 'regex' }] },
    });
  });

  it('refuses invalid and dangerous terms with a 400 naming the problem, and duplicates with 409', async () => {
    const id: string = (await cerulean.admin('POST', `/projects/${PROJECT}/blocklists`, { name: 'Validation' })).body.id;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ kind: 'regex', value: '(unclosed' }, /not a valid regular expression/],
      [{ kind: 'regex', value: '(a+)+$' }, /catastrophic backtracking/],
      [{ kind: 'regex', value: 'x*' }, /matches the empty string/],
      [{ kind: 'exact', value: '   ' }, /is empty/],
      [{ kind: 'exact', value: 'y'.repeat(501) }, /longer than 500 characters/],
    ];
    for (const [body, message] of cases) {
      const response = await cerulean.admin('POST', `/blocklists/${id}/terms`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'invalid_blocklist_term', param: 'value' });
      expect(response.body.error.message).toMatch(message);
      expect(response.body.error.message).toContain(id);
    }
    const badKind = await cerulean.admin('POST', `/blocklists/${id}/terms`, { kind: 'glob', value: 'x' });
    expect(badKind.status).toBe(400);
    expect(badKind.body.error.param).toBe('kind');

    expect((await cerulean.admin('POST', `/blocklists/${id}/terms`, { value: 'Secret Sauce' })).status).toBe(201);
    const duplicate = await cerulean.admin('POST', `/blocklists/${id}/terms`, { value: 'secret   sauce' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('duplicate_term');
    // The same text as a regex is another term.
    expect((await cerulean.admin('POST', `/blocklists/${id}/terms`, { kind: 'regex', value: 'Secret Sauce' })).status).toBe(201);
    expect((await cerulean.admin('GET', `/blocklists/${id}`)).body.terms).toHaveLength(2);
  });

  it('compiles the project blocklists into the policy cache within a moment of each change', async () => {
    const id: string = (await cerulean.admin('POST', `/projects/${PROJECT}/blocklists`, { name: 'Cache' })).body.id;
    expect((await cerulean.admin('POST', `/blocklists/${id}/terms`, { value: 'hydra protocol' })).status).toBe(201);
    const hits = (text: string): string[] => (cerulean.governance.cache.blocklistsFor(PROJECT)?.match(text) ?? []).map((hit) => hit.listId);
    await expect.poll(() => hits('tell me about the Hydra  Protocol please')).toContain(id);
    expect(hits('nothing to see')).toEqual([]);
    expect(cerulean.governance.cache.blocklistsFor('proj_other')).toBeUndefined();
    await cerulean.admin('DELETE', `/blocklists/${id}`);
    await expect.poll(() => hits('the hydra protocol')).not.toContain(id);
  });

  it('lets contributors manage blocklists, readers read them, and nobody else', async () => {
    const [alice, carl, rita, ursula] = await Promise.all(['alice', 'carl', 'rita', 'ursula'].map(token));
    const byCarl = await cerulean.admin('POST', `/projects/${PROJECT}/blocklists`, { name: 'Carl' }, carl);
    expect(byCarl.status).toBe(201);
    expect((await cerulean.admin('POST', `/blocklists/${byCarl.body.id}/terms`, { value: 'carl term' }, carl)).status).toBe(201);
    expect((await cerulean.admin('GET', `/projects/${PROJECT}/blocklists`, undefined, rita)).status).toBe(200);
    expect((await cerulean.admin('POST', `/projects/${PROJECT}/blocklists`, { name: 'Rita' }, rita)).status).toBe(403);
    expect((await cerulean.admin('POST', `/blocklists/${byCarl.body.id}/terms`, { value: 'x' }, rita)).status).toBe(403);
    expect((await cerulean.admin('GET', `/projects/${PROJECT}/blocklists`, undefined, ursula)).status).toBe(403);
    expect((await cerulean.admin('DELETE', `/blocklists/${byCarl.body.id}`, undefined, ursula)).status).toBe(403);
    // A project the caller has no role on stays hidden.
    expect((await cerulean.admin('GET', '/projects/proj_other/blocklists', undefined, carl)).status).toBe(404);
    expect((await cerulean.admin('DELETE', `/blocklists/${byCarl.body.id}`, undefined, alice)).status).toBe(200);
    const key = await createKey('proj_other');
    const keyCaller = await cerulean.admin('GET', `/projects/${PROJECT}/blocklists`, undefined, key.key);
    expect([403, 404]).toContain(keyCaller.status);
  });
});

describe('content-filter policy assignment', () => {
  const operatorContext = () =>
    adminContext(
      { storage: cerulean.governance.storage, deployments: () => ['chat', 'embed'], filterPolicies: () => ['strict', 'lenient'] },
      adminOperation('content-filters.assign')!,
      MASTER_PRINCIPAL,
      'test',
    );

  it('accepts only configured policies on configured deployments', async () => {
    const assign = adminOperation('content-filters.assign')!;
    expect(await assign.run(operatorContext(), { project: PROJECT, deployment: 'chat', policy: 'strict' })).toMatchObject({
      projectId: PROJECT,
      deployment: 'chat',
      policy: 'strict',
    });
    expect(await assign.run(operatorContext(), { project: PROJECT, deployment: '*', policy: 'lenient' })).toMatchObject({ deployment: '*', policy: 'lenient' });
    await expect(assign.run(operatorContext(), { project: PROJECT, deployment: 'chat', policy: 'relaxed' })).rejects.toMatchObject({
      status: 400,
      code: 'unknown_policy',
      param: 'policy',
      message: expect.stringContaining('configured policies: strict, lenient'),
    });
    await expect(assign.run(operatorContext(), { project: PROJECT, deployment: 'missing', policy: 'strict' })).rejects.toMatchObject({ status: 404 });

    // Over HTTP: unknown policies and deployments are refused, and the choices are listed and cached.
    const unknown = await cerulean.admin('PUT', `/projects/${PROJECT}/content-filters/chat`, { policy: 'relaxed' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'unknown_policy', param: 'policy' });
    expect((await cerulean.admin('PUT', `/projects/${PROJECT}/content-filters/missing`, { policy: 'strict' })).status).toBe(404);
    const listed = await cerulean.admin('GET', `/projects/${PROJECT}/content-filters`);
    expect(listed.body.data.map((entry: { deployment: string; policy: string }) => `${entry.deployment}=${entry.policy}`)).toEqual([
      '*=lenient',
      'chat=strict',
    ]);
    await expect.poll(() => cerulean.governance.cache.filterPolicyFor(PROJECT, 'chat')).toBe('strict');
    expect(cerulean.governance.cache.filterPolicyFor(PROJECT, 'embed')).toBe('lenient');
    expect(cerulean.governance.cache.filterPolicyFor('proj_other', 'chat')).toBeUndefined();

    expect((await auditActions('content-filters.assign')).map((entry) => entry.after.policy)).toEqual(['strict', 'lenient']);
    expect((await cerulean.admin('DELETE', `/projects/${PROJECT}/content-filters/chat`)).status).toBe(200);
    expect((await cerulean.admin('DELETE', `/projects/${PROJECT}/content-filters/chat`)).status).toBe(404);
    await expect.poll(() => cerulean.governance.cache.filterPolicyFor(PROJECT, 'chat')).toBe('lenient');
    expect((await auditActions('content-filters.remove')).at(-1)).toMatchObject({ before: { policy: 'strict' }, after: null });
  });

  it('lists the configured policy names to whoever reads a project’s choices, and each deployment’s configured policy', async () => {
    const policies = await cerulean.admin('GET', '/content-filter-policies', undefined, await token('rita'));
    expect(policies.status).toBe(200);
    expect(policies.body.data).toEqual([
      { name: 'strict', operator_only: false },
      { name: 'lenient', operator_only: false },
      { name: 'default', operator_only: false },
      { name: 'none', operator_only: true },
    ]);
    expect((await cerulean.admin('GET', '/content-filter-policies', undefined, await token('ursula'))).status).toBe(403);
    expect((await cerulean.admin('GET', '/content-filter-policies', undefined, (await createKey()).key)).status).toBe(403);
    const deployments = await cerulean.admin('GET', '/deployments', undefined, await token('rita'));
    expect(deployments.body.data.map((entry: { deployment: string; content_filter: string }) => [entry.deployment, entry.content_filter])).toEqual([
      ['chat', 'default'],
      ['embed', 'strict'],
    ]);
  });

  it('leaves turning filtering off to the operator', async () => {
    const alice = await token('alice');
    const refused = await cerulean.admin('PUT', `/projects/${PROJECT}/content-filters/embed`, { policy: 'none' }, alice);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('operator_only');
    expect((await cerulean.admin('PUT', `/projects/${PROJECT}/content-filters/embed`, { policy: 'none' })).status).toBe(200);
    expect((await cerulean.admin('DELETE', `/projects/${PROJECT}/content-filters/embed`, undefined, alice)).status).toBe(403);
    expect((await cerulean.admin('DELETE', `/projects/${PROJECT}/content-filters/embed`)).status).toBe(200);
    // Readers see the choices, users do not.
    expect((await cerulean.admin('GET', `/projects/${PROJECT}/content-filters`, undefined, await token('rita'))).status).toBe(200);
    expect((await cerulean.admin('GET', `/projects/${PROJECT}/content-filters`, undefined, await token('ursula'))).status).toBe(403);
  });
});

describe('a stored policy choice the configuration no longer has', () => {
  it('fails the project’s requests closed with a 503 naming the policy, and serves them again once it is back', async () => {
    const key = await createKey('proj_other');
    expect((await cerulean.admin('PUT', '/projects/proj_other/content-filters/chat', { policy: 'lenient' })).status).toBe(200);
    await expect.poll(() => cerulean.governance.cache.filterPolicyFor('proj_other', 'chat')).toBe('lenient');
    const reload = (text: string): Promise<void> =>
      cerulean.server.reload(parseConfig(`data_dir: ${JSON.stringify(cerulean.dataDir)}\n${text}`, 'test.yaml', {}));
    try {
      // A reload renames the policy: the stored choice now names nothing.
      await reload(yaml.replace('lenient:', 'relaxed:').replace('embed: strict', 'embed: relaxed'));
      // The names offered and the deployments' policies follow the reload.
      expect((await cerulean.admin('GET', '/content-filter-policies')).body.data.map((entry: { name: string }) => entry.name)).toEqual([
        'strict',
        'relaxed',
        'default',
        'none',
      ]);
      expect((await cerulean.admin('GET', '/deployments')).body.data.find((entry: { deployment: string }) => entry.deployment === 'embed').content_filter).toBe(
        'relaxed',
      );
      const before = upstream.requests.length;
      const client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: key.key, maxRetries: 0 });
      const refused = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hello' }] }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 503, code: 'filter_policy_unavailable' });
      expect((refused as Error).message).toContain('"lenient"');
      expect(upstream.requests.length).toBe(before);
    } finally {
      await reload(yaml);
    }
    expect(await chatStatus(key.key)).toBe(200);
    expect((await cerulean.admin('DELETE', '/projects/proj_other/content-filters/chat')).status).toBe(200);
  });
});

describe('abuse review queue', () => {
  it('lists and shows reviews with samples; project admins read their project only, decisions are the operator’s', async () => {
    const key = await createKey();
    await openReviewsFor(key.id, 'enduser-7');
    const all = await cerulean.admin('GET', `/abuse/reviews?project=${PROJECT}&status=open`);
    expect(all.status).toBe(200);
    const mine = all.body.data.filter((review: { subjectId: string }) => [key.id, 'enduser-7'].includes(review.subjectId));
    expect(mine.map((review: { subjectType: string }) => review.subjectType).sort()).toEqual(['end_user', 'key']);
    expect(all.body.data.some((review: { subjectType: string }) => review.subjectType === 'project')).toBe(true);
    const keyReview = mine.find((review: { subjectType: string }) => review.subjectType === 'key');
    expect(keyReview).toMatchObject({ status: 'open', events: 2, projectId: PROJECT, organizationId: 'org_safe' });
    expect((await cerulean.admin('GET', '/abuse/reviews?subject_type=end_user')).body.data.map((review: { subjectId: string }) => review.subjectId)).toContain(
      'enduser-7',
    );
    expect((await cerulean.admin('GET', '/abuse/reviews?status=bogus')).status).toBe(400);

    const shown = await cerulean.admin('GET', `/abuse/reviews/${keyReview.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.samples).toHaveLength(1);
    expect(shown.body.samples[0]).toMatchObject({
      reviewId: keyReview.id,
      text: 'how do I hurt someone, attempt 1',
      categories: [{ category: 'violence', severity: 'high', filtered: true }],
    });

    const alice = await token('alice');
    expect((await cerulean.admin('GET', `/abuse/reviews?project=${PROJECT}`, undefined, alice)).status).toBe(200);
    expect((await cerulean.admin('GET', `/abuse/reviews/${keyReview.id}`, undefined, alice)).body.samples).toHaveLength(1);
    expect((await cerulean.admin('GET', '/abuse/reviews', undefined, alice)).status).toBe(400);
    expect((await cerulean.admin('GET', '/abuse/reviews?project=proj_other', undefined, alice)).status).toBe(404);
    const denied = await cerulean.admin('POST', `/abuse/reviews/${keyReview.id}/dismiss`, {}, alice);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('operator_only');
    // Contributors manage blocklists but do not read the abuse queue (the project is visible to them: 403).
    expect((await cerulean.admin('GET', `/abuse/reviews/${keyReview.id}`, undefined, await token('carl'))).status).toBe(403);
    expect((await cerulean.admin('GET', '/abuse/reviews/abr_missing')).status).toBe(404);
  });

  it('dismisses, suspends and reinstates: a suspended key gets 403 on inference and works again after reinstatement', async () => {
    const key = await createKey();
    expect(await chatStatus(key.key)).toBe(200);
    await openReviewsFor(key.id);
    const review = (await cerulean.governance.storage.abuse.findActive('key', key.id, PROJECT))!;

    const dismissed = await cerulean.admin('POST', `/abuse/reviews/${review.id}/dismiss`, { reason: 'a red-team exercise' });
    expect(dismissed.status).toBe(200);
    expect(dismissed.body).toMatchObject({
      status: 'dismissed',
      decidedBy: 'master',
      reason: expect.stringContaining('dismiss by master: a red-team exercise'),
    });
    expect((await cerulean.admin('POST', `/abuse/reviews/${review.id}/dismiss`)).body.error.code).toBe('invalid_review_state');
    expect((await cerulean.admin('POST', `/abuse/reviews/${review.id}/reinstate`)).status).toBe(409);
    expect(await chatStatus(key.key)).toBe(200);

    // The operator changes their mind: suspending the dismissed review suspends the key everywhere.
    const suspended = await cerulean.admin('POST', `/abuse/reviews/${review.id}/suspend`, { reason: 'repeat offender' });
    expect(suspended.status).toBe(200);
    expect(suspended.body.status).toBe('suspended');
    await expect.poll(() => chatStatus(key.key)).toBe('403 key_suspended');
    const listedKey = (await cerulean.admin('GET', `/projects/${PROJECT}/keys`)).body.data.find((entry: { id: string }) => entry.id === key.id);
    expect(listedKey.suspendedAt).toEqual(expect.any(Number));
    expect((await cerulean.admin('POST', `/abuse/reviews/${review.id}/suspend`)).status).toBe(409);

    // Monitoring keeps adding to the suspended review rather than opening another.
    await openReviewsFor(key.id);
    expect((await cerulean.governance.storage.abuse.findActive('key', key.id, PROJECT))?.id).toBe(review.id);

    const reinstated = await cerulean.admin('POST', `/abuse/reviews/${review.id}/reinstate`);
    expect(reinstated.status).toBe(200);
    expect(reinstated.body.status).toBe('reinstated');
    await expect.poll(() => chatStatus(key.key)).toBe(200);

    const actions = async (action: string) =>
      (await auditActions(action)).filter((entry) => entry.target === `abuse-review:${review.id}` || entry.target === `key:${key.id}`);
    expect((await actions('abuse.dismiss')).map((entry) => [entry.actor, entry.before.status, entry.after.status])).toEqual([['master', 'open', 'dismissed']]);
    expect((await actions('abuse.suspend')).map((entry) => entry.after.status)).toEqual(['suspended']);
    expect((await actions('keys.suspend'))[0]).toMatchObject({ target: `key:${key.id}`, before: { suspendedAt: null }, after: { review: review.id } });
    expect((await actions('abuse.reinstate')).map((entry) => entry.after.status)).toEqual(['reinstated']);
    expect((await actions('keys.unsuspend'))[0]).toMatchObject({ after: { suspendedAt: null } });
    expect((await cerulean.admin('GET', '/audit/verify')).body.ok).toBe(true);
  });

  it('refuses to suspend through a closed review while the subject has another active one', async () => {
    const key = await createKey();
    await openReviewsFor(key.id);
    const first = (await cerulean.governance.storage.abuse.findActive('key', key.id, PROJECT))!;
    expect((await cerulean.admin('POST', `/abuse/reviews/${first.id}/dismiss`)).status).toBe(200);
    await openReviewsFor(key.id);
    const second = (await cerulean.governance.storage.abuse.findActive('key', key.id, PROJECT))!;
    expect(second.id).not.toBe(first.id);
    const refused = await cerulean.admin('POST', `/abuse/reviews/${first.id}/suspend`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('active_review_exists');
    expect((await cerulean.admin('POST', `/abuse/reviews/${second.id}/suspend`)).status).toBe(200);
    await expect.poll(() => chatStatus(key.key)).toBe('403 key_suspended');
    // A revoked key is unknown (401), suspended or not.
    expect((await cerulean.admin('POST', `/keys/${key.id}/revoke`)).status).toBe(200);
    await expect.poll(() => chatStatus(key.key)).toBe('401 invalid_api_key');
  });
});
