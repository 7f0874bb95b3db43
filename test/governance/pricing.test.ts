import { describe, expect, it } from 'vitest';
import { costOf } from '../../src/governance/pricing.js';
import type { Prices } from '../../src/storage/storage.js';

/** $3 input, $0.30 cache reads, $3.75 cache writes, $15 output per million (micro-dollars per million). */
const prices: Prices = {
  inputPerMillion: 3_000_000,
  cachedInputPerMillion: 300_000,
  cacheWritePerMillion: 3_750_000,
  outputPerMillion: 15_000_000,
  perImage: 0,
};

describe('costOf', () => {
  it('prices uncached input, cache reads, cache writes and output each at its own rate', () => {
    // 1,000 prompt tokens of which 600 read from the cache and 300 written to it; 100 output.
    const usage = {
      prompt_tokens: 1_000,
      completion_tokens: 100,
      total_tokens: 1_100,
      prompt_tokens_details: { cached_tokens: 600, cache_creation_tokens: 300 },
    };
    expect(costOf(prices, usage)).toBe(Math.round((100 * 3_000_000 + 600 * 300_000 + 300 * 3_750_000 + 100 * 15_000_000) / 1_000_000));
  });

  it('charges cache writes at the input price when the policy predates a cache-write price', () => {
    const old = { inputPerMillion: 3_000_000, cachedInputPerMillion: 300_000, outputPerMillion: 15_000_000, perImage: 0 } as unknown as Prices;
    const usage = { prompt_tokens: 1_000, completion_tokens: 0, total_tokens: 1_000, prompt_tokens_details: { cache_creation_tokens: 1_000 } };
    expect(costOf(old, usage)).toBe(3_000);
  });
});
