import { describe, expect, it } from 'vitest';
import { budgetOwner, usedShare, windowUse } from '../../portal/src/api/limits.js';
import { errorRate, rangeFilter, rowLabel, totalOf, usageCsv, usagePath, type UsageRow } from '../../portal/src/api/usage.js';

const DAY = 86_400_000;

const row = (fields: Partial<UsageRow>): UsageRow => ({
  requests: 0,
  prompt_tokens: 0,
  cached_tokens: 0,
  completion_tokens: 0,
  cost_usd: 0,
  errors: 0,
  ...fields,
});

describe('usage data in the portal', () => {
  it('asks for only the filters given, groups in order', () => {
    expect(usagePath({}, [])).toBe('/usage');
    expect(usagePath({ from: 10, to: 20, project: ' proj_a ', key: '', model: 'gpt-4o' }, ['project', 'day'])).toBe(
      '/usage?from=10&to=20&project=proj_a&model=gpt-4o&group_by=project%2Cday',
    );
    expect(usagePath({ from: 10, bucket: 'hour' }, ['deployment'])).toBe('/usage?from=10&group_by=deployment&bucket=hour');
  });

  it('reads each overview range from the rollups that cover it', () => {
    expect(rangeFilter('day', 100 * DAY)).toEqual({ from: 99 * DAY, bucket: 'minute' });
    expect(rangeFilter('week', 100 * DAY)).toEqual({ from: 93 * DAY, bucket: 'hour' });
    expect(rangeFilter('month', 100 * DAY)).toEqual({ from: 70 * DAY, bucket: 'day' });
  });

  it('sums rows, labels them and works out error rates', () => {
    const rows = [row({ project: 'a', key: null, requests: 4, errors: 1, cost_usd: 0.5 }), row({ project: 'b', key: 'key_1', requests: 6, cost_usd: 0.25 })];
    expect(totalOf(rows)).toMatchObject({ requests: 10, errors: 1, cost_usd: 0.75 });
    expect(errorRate(totalOf(rows))).toBe(0.1);
    expect(errorRate(row({}))).toBe(0);
    expect(rows.map((r) => rowLabel(r, ['project', 'key']))).toEqual(['a · no key', 'b · key_1']);
    expect(rowLabel(rows[0], [])).toBe('All');
  });

  it('exports CSV with the API export columns, quoting what needs it', () => {
    const csv = usageCsv([row({ model: 'a,"b"', requests: 2, cost_usd: 0.001 })], ['model']);
    expect(csv).toBe('model,requests,prompt_tokens,cached_tokens,completion_tokens,cost_usd,errors\r\n"a,""b""",2,0,0,0,0.001,0\r\n');
  });

  it('says how much of a budget is used and whose it is', () => {
    expect(usedShare({ limit_usd: 4, spent_usd: 1 })).toBe(0.25);
    expect(usedShare({ limit_usd: 1, spent_usd: 3 })).toBe(1);
    expect(windowUse(1_500, 20_000)).toBe('1,500 of 20,000 (8%)');
    expect(windowUse(undefined, 20_000)).toBe('unknown');
    expect(usedShare({ limit_usd: 0, spent_usd: 0 })).toBe(1);
    expect(budgetOwner({ scope: 'key', id: 'key_1', name: 'ci', prefix: 'cer-ab', revoked: true, periods: [] })).toBe('Key ci (cer-ab…), revoked');
    expect(budgetOwner({ scope: 'project', id: 'proj_a', periods: [] })).toBe('Project proj_a');
  });
});
