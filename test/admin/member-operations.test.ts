import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/** `GET /admin/v1/projects/:project/members` and the audit log's target filter, through the HTTP API. */
let cerulean: GovernedCerulean;
let ada: string;
let grace: string;
let readerKey: string;

beforeAll(async () => {
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'A', id: 'org_a' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_a', name: 'main', id: 'proj_main' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_a', name: 'other', id: 'proj_other' })).status).toBe(201);
  ada = (await cerulean.admin('POST', '/users', { organization: 'org_a', email: 'ada@a.test', name: 'Ada' })).body.id;
  grace = (await cerulean.admin('POST', '/users', { organization: 'org_a', email: 'grace@a.test' })).body.id;
  expect((await cerulean.admin('PUT', `/users/${ada}/roles`, { scope: 'organization', scope_id: 'org_a', role: 'owner' })).status).toBe(200);
  expect((await cerulean.admin('PUT', `/users/${grace}/roles`, { scope: 'project', scope_id: 'proj_main', role: 'reader' })).status).toBe(200);
  readerKey = (await cerulean.admin('POST', '/projects/proj_main/keys', { name: 'k' })).body.key;
});

afterAll(() => cerulean?.close());

describe('members.list', () => {
  it('lists the roles held on the project and on its organization, with who holds them', async () => {
    const answer = await cerulean.admin('GET', '/projects/proj_main/members');
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual([
      expect.objectContaining({ user: ada, email: 'ada@a.test', name: 'Ada', role: 'owner', scope: 'organization', scope_id: 'org_a' }),
      expect.objectContaining({ user: grace, email: 'grace@a.test', name: null, role: 'reader', scope: 'project', scope_id: 'proj_main' }),
    ]);
    const other = await cerulean.admin('GET', '/projects/proj_other/members');
    expect(other.body.data.map((member: { user: string }) => member.user)).toEqual([ada]);
  });

  it('is refused without users:manage, and a project out of reach reads as absent', async () => {
    const refused = await cerulean.admin('GET', '/projects/proj_main/members', undefined, readerKey);
    expect(refused.status).toBe(403);
    const absent = await cerulean.admin('GET', '/projects/proj_nope/members');
    expect(absent.status).toBe(404);
  });
});

describe('audit.list target filter', () => {
  it('returns only the entries about that thing', async () => {
    const answer = await cerulean.admin('GET', `/audit?target=${encodeURIComponent(`user:${grace}`)}`);
    expect(answer.status).toBe(200);
    expect(answer.body.data.map((entry: { action: string }) => entry.action)).toEqual(['users.create', 'roles.assign']);
  });
});
