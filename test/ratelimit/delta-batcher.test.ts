import { describe, expect, it } from 'vitest';
import { DeltaBatcher } from '../../src/ratelimit/redis/delta-batcher.js';

/** Settlements of concurrent requests are summed per key and applied in one call per window. */
describe('DeltaBatcher', () => {
  it('sums the deltas of one window per key and applies them in one call', async () => {
    const calls: Array<{ keys: string[]; deltas: number[] }> = [];
    const batcher = new DeltaBatcher(async (keys, deltas) => void calls.push({ keys, deltas }), 5);
    const added = [batcher.add('a', -10), batcher.add('b', 3), batcher.add('a', -5), batcher.add('c', 2), batcher.add('c', -2)];
    expect(calls).toEqual([]);
    await Promise.all(added);
    // c's deltas cancel out: nothing to send for it.
    expect(calls).toEqual([{ keys: ['a', 'b'], deltas: [-15, 3] }]);
    await batcher.add('a', 1);
    expect(calls).toHaveLength(2);
    expect(calls[1]).toEqual({ keys: ['a'], deltas: [1] });
  });

  it('flush applies at once; a failed call rejects every delta of its window', async () => {
    let fail = true;
    const applied: number[] = [];
    const batcher = new DeltaBatcher(async (_keys, deltas) => {
      if (fail) throw new Error('redis down');
      applied.push(...deltas);
    }, 60_000);
    const first = batcher.add('k', 4);
    const second = batcher.add('k', 6);
    await batcher.flush();
    await expect(first).rejects.toThrow('redis down');
    await expect(second).rejects.toThrow('redis down');
    fail = false;
    const third = batcher.add('k', 7);
    await batcher.flush();
    await third;
    expect(applied).toEqual([7]);
  });
});
