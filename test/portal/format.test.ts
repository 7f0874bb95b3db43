import { describe, expect, it } from 'vitest';
import { checkExpiry, keyStatus, localTime } from '../../portal/src/api/format.js';
import { may, mayAnywhere, type Identity } from '../../portal/src/api/identity.js';

const NOW = Date.parse('2030-06-01T12:00:00Z');

describe('checkExpiry (the key form, before it is sent)', () => {
  it('accepts empty (never), durations and future dates', () => {
    expect(checkExpiry('', NOW)).toEqual({ value: undefined });
    expect(checkExpiry('  30d ', NOW)).toEqual({ value: '30d' });
    expect(checkExpiry('12 h', NOW)).toEqual({ value: '12h' });
    expect(checkExpiry('2w', NOW)).toEqual({ value: '2w' });
    expect(checkExpiry('2031-01-31', NOW)).toEqual({ value: '2031-01-31T00:00:00.000Z' });
  });

  it('says what is wrong with anything else', () => {
    expect(checkExpiry('soon', NOW)).toEqual({ problem: expect.stringContaining('30d') });
    expect(checkExpiry('0d', NOW)).toEqual({ problem: expect.stringContaining('longer than zero') });
    expect(checkExpiry('2020-01-01', NOW)).toEqual({ problem: expect.stringContaining('future') });
    expect(checkExpiry('30y', NOW)).toHaveProperty('problem');
  });
});

describe('keyStatus', () => {
  it('is revoked, expired or active', () => {
    expect(keyStatus({ revokedAt: NOW - 1, expiresAt: null }, NOW)).toBe('revoked');
    expect(keyStatus({ revokedAt: null, expiresAt: NOW }, NOW)).toBe('expired');
    expect(keyStatus({ revokedAt: null, expiresAt: NOW + 1 }, NOW)).toBe('active');
    expect(keyStatus({ revokedAt: null, expiresAt: null }, NOW)).toBe('active');
  });
});

describe('localTime', () => {
  it("shows epoch milliseconds and ISO strings in the viewer's zone, nothing for none", () => {
    const tokyo = new Intl.DateTimeFormat('en-GB', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Asia/Tokyo' });
    expect(localTime(NOW, tokyo)).toBe('01/06/2030, 21:00');
    expect(localTime('2030-06-01T12:00:00Z', tokyo)).toBe('01/06/2030, 21:00');
    expect(localTime(null)).toBe('');
    expect(localTime('not a date')).toBe('');
  });
});

describe('may (what the UI offers, by the admin API rule)', () => {
  const reader: Identity = {
    kind: 'user',
    id: 'user_1',
    name: 'Rita',
    email: 'rita@acme.test',
    organization: 'org_a',
    project: null,
    prefix: null,
    deployments: null,
    operator: false,
    grants: [
      { scope: 'organization', scope_id: 'org_a', role: 'reader', permissions: ['projects:read', 'keys:read'] },
      { scope: 'project', scope_id: 'proj_b1', role: 'admin', permissions: ['keys:read', 'keys:manage'] },
    ],
  };

  it("covers an organization's projects with its organization role, and one project with a project role", () => {
    expect(may(reader, 'keys:read', { organization: 'org_a', project: 'proj_a1' })).toBe(true);
    expect(may(reader, 'keys:manage', { organization: 'org_a', project: 'proj_a1' })).toBe(false);
    expect(may(reader, 'keys:manage', { organization: 'org_b', project: 'proj_b1' })).toBe(true);
    expect(may(reader, 'keys:manage', { organization: 'org_b', project: 'proj_b2' })).toBe(false);
    expect(may(reader, 'keys:read', { organization: 'org_c' })).toBe(false);
    expect(mayAnywhere(reader, 'keys:manage')).toBe(true);
    expect(mayAnywhere(reader, 'deployments:read')).toBe(false);
  });

  it('lets the operator do everything and an API key nothing but inference on its project', () => {
    const operator: Identity = { ...reader, kind: 'master', id: 'master', operator: true, grants: [] };
    expect(may(operator, 'keys:manage', { organization: 'any', project: 'any' })).toBe(true);
    const key: Identity = {
      ...reader,
      kind: 'key',
      id: 'key_1',
      project: 'proj_a1',
      grants: [{ scope: 'project', scope_id: 'proj_a1', role: null, permissions: ['inference'] }],
    };
    expect(may(key, 'inference', { organization: 'org_a', project: 'proj_a1' })).toBe(true);
    expect(may(key, 'keys:read', { organization: 'org_a', project: 'proj_a1' })).toBe(false);
    expect(mayAnywhere(key, 'deployments:read')).toBe(false);
  });
});
