import { describe, expect, it } from 'vitest';
import { auditQuery, NO_FILTERS } from '../../portal/src/api/audit-query.js';

describe('auditQuery', () => {
  it('sends only the filters given, trimmed, local times as epoch ms, and the page cursor', () => {
    const from = '2030-01-01T10:00';
    const built = auditQuery({ ...NO_FILTERS, action: ' keys.revoke ', target: 'project:p', from }, 42, 50);
    expect(built).toEqual({ query: `action=keys.revoke&target=project%3Ap&from=${new Date(from).getTime()}&after_seq=42&limit=50` });
    expect(auditQuery(NO_FILTERS, 0, 50)).toEqual({ query: 'limit=50' });
  });

  it('refuses a backwards or unreadable time range before sending', () => {
    expect(auditQuery({ ...NO_FILTERS, from: '2030-01-02T00:00', to: '2030-01-01T00:00' }, 0, 50)).toEqual({ problem: '"From" must be before "to".' });
    expect(auditQuery({ ...NO_FILTERS, to: 'soon' }, 0, 50)).toEqual({ problem: '"soon" is not a time.' });
  });
});
