import { describe, expect, it } from 'vitest';
import { ScriptBatcher } from '../../src/ratelimit/redis/script-batcher.js';

/** The calls of one turn of the event loop go out as one batch, each getting its own result. */
describe('ScriptBatcher', () => {
  it('sends the calls of one turn in one batch, in order, and answers each with its own result', async () => {
    const batches: number[][] = [];
    const batcher = new ScriptBatcher<number, number>(async (calls) => {
      batches.push([...calls]);
      return calls.map((call) => call * 10);
    });
    const results = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(await batcher.submit(4)).toBe(40);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('waits for no timer: a lone call goes out in the check phase of the same turn', async () => {
    const batches: number[][] = [];
    const batcher = new ScriptBatcher<number, number>(async (calls) => (batches.push([...calls]), calls));
    const answered = batcher.submit(1);
    expect(batches).toEqual([]);
    // Immediates run in the order they were queued: the batcher's, queued by submit, runs first.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1]]);
    expect(await answered).toBe(1);
  });

  it('sends a full batch at once and starts the next', async () => {
    const sizes: number[] = [];
    const batcher = new ScriptBatcher<number, number>(async (calls) => (sizes.push(calls.length), calls), 4);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(i)));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('rejects every call of a failed batch, and of a batch answered with the wrong number of results', async () => {
    let mode: 'throw' | 'reject' | 'short' | 'ok' = 'throw';
    const batcher = new ScriptBatcher<number, number>((calls) => {
      if (mode === 'throw') throw new Error('not connected');
      if (mode === 'reject') return Promise.reject(new Error('redis down'));
      return Promise.resolve(mode === 'short' ? calls.slice(1) : calls);
    });
    const thrown = [batcher.submit(1), batcher.submit(2)];
    for (const call of thrown) await expect(call).rejects.toThrow('not connected');
    mode = 'reject';
    const rejected = [batcher.submit(1), batcher.submit(2)];
    for (const call of rejected) await expect(call).rejects.toThrow('redis down');
    mode = 'short';
    const short = [batcher.submit(1), batcher.submit(2)];
    for (const call of short) await expect(call).rejects.toThrow('a batch of 2 calls got 1 results');
    mode = 'ok';
    expect(await batcher.submit(7)).toBe(7);
  });

  it('flush sends what is queued without waiting for the turn to end', async () => {
    const batches: number[][] = [];
    const batcher = new ScriptBatcher<number, number>(async (calls) => (batches.push([...calls]), calls));
    const pending = [batcher.submit(1), batcher.submit(2)];
    batcher.flush();
    expect(batches).toEqual([[1, 2]]);
    expect(await Promise.all(pending)).toEqual([1, 2]);
    batcher.flush();
    expect(batches).toHaveLength(1);
  });
});
