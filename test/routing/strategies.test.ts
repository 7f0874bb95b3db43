import { describe, expect, it } from 'vitest';
import { orderTargets, type Candidate, type Strategy } from '../../src/routing/strategies.js';
import { TargetHealth, type BreakerSettings } from '../../src/routing/target-health.js';

const T0 = 1_700_000_000_000;
const SETTINGS: BreakerSettings = { failureThreshold: 1, failureRate: 0.5, minimumRequests: 10, windowMs: 10_000, openMs: 5_000, halfOpenProbes: 1 };
const STRATEGIES: Strategy[] = ['weighted', 'priority', 'least_outstanding', 'lowest_latency'];
const DRAWS = 100_000;

function candidate(id: string, options: { weight?: number; priority?: number; capacity?: Candidate['capacity'] } = {}): Candidate {
  return { id, weight: options.weight ?? 1, priority: options.priority ?? 0, capacity: options.capacity ?? 'standard', health: new TargetHealth(SETTINGS) };
}

/** mulberry32: a small seeded generator, so every run draws the same numbers. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Returns the given numbers in turn, then fails the test if asked for more. */
function scripted(...numbers: number[]): () => number {
  return () => {
    const next = numbers.shift();
    if (next === undefined) throw new Error('asked for more random numbers than scripted');
    return next;
  };
}

function ids(order: readonly Candidate[]): string[] {
  return order.map((entry) => entry.id);
}

/** Share of `DRAWS` orders in which each id sits at `position`. */
function shareAt(candidates: readonly Candidate[], strategy: Strategy, position: number, seed: number): Record<string, number> {
  const random = seeded(seed);
  const counts: Record<string, number> = {};
  for (const entry of candidates) counts[entry.id] = 0;
  for (let draw = 0; draw < DRAWS; draw++) counts[orderTargets(candidates, strategy, T0, random)[position].id]++;
  for (const id of Object.keys(counts)) counts[id] /= DRAWS;
  return counts;
}

function withLatency(entry: Candidate, latencyMs: number): Candidate {
  entry.health.begin(T0);
  entry.health.end({ ok: true, latencyMs }, T0);
  return entry;
}

function withOutstanding(entry: Candidate, count: number): Candidate {
  for (let i = 0; i < count; i++) entry.health.begin(T0);
  return entry;
}

describe('orderTargets: availability', () => {
  it.each(STRATEGIES)('%s leaves out drained, cooling and open targets, and keeps the rest', (strategy) => {
    const drained = candidate('drained');
    drained.health.drain();
    const cooling = candidate('cooling');
    cooling.health.begin(T0);
    cooling.health.end({ ok: false, cause: 'rate_limited', retryAfterMs: 1_000 }, T0);
    const open = candidate('open');
    open.health.begin(T0);
    open.health.end({ ok: false, cause: 'connect' }, T0);
    const up = candidate('up');
    const other = candidate('other', { priority: 1 });
    const order = orderTargets([drained, cooling, up, open, other], strategy, T0, seeded(1));
    expect(ids(order).sort()).toEqual(['other', 'up']);
    // Once the cooldown passed and the breaker turned half-open, both come back.
    expect(ids(orderTargets([drained, cooling, up, open, other], strategy, T0 + SETTINGS.openMs, seeded(1))).sort()).toEqual([
      'cooling',
      'open',
      'other',
      'up',
    ]);
  });

  it.each(STRATEGIES)('%s answers an empty list when nothing is available, and never changes its input', (strategy) => {
    const only = candidate('only');
    only.health.drain();
    expect(orderTargets([only], strategy, T0)).toEqual([]);
    expect(orderTargets([], strategy, T0)).toEqual([]);
    const input = [candidate('a'), candidate('b', { weight: 5 }), candidate('c', { priority: -1 })];
    const copy = [...input];
    orderTargets(input, strategy, T0, seeded(2));
    expect(input).toEqual(copy);
  });

  it('leaves out a half-open target once its probe is taken', () => {
    const probed = candidate('probed');
    probed.health.begin(T0);
    probed.health.end({ ok: false, cause: 'timeout' }, T0);
    const reopen = T0 + SETTINGS.openMs;
    expect(ids(orderTargets([probed, candidate('b')], 'weighted', reopen, seeded(3))).sort()).toEqual(['b', 'probed']);
    probed.health.begin(reopen);
    expect(ids(orderTargets([probed, candidate('b')], 'weighted', reopen, seeded(3)))).toEqual(['b']);
  });

  it('rejects an unknown strategy', () => {
    expect(() => orderTargets([candidate('a'), candidate('b')], 'round_robin' as Strategy, T0)).toThrow(TypeError);
  });
});

describe('orderTargets: weighted', () => {
  it('draws the first by weight, then the next by weight among the rest', () => {
    const list = [candidate('a', { weight: 1 }), candidate('b', { weight: 1 }), candidate('c', { weight: 2 })];
    // 0.3 of 4 is 1.2: past a (1), within b (2). Then 0.5 of a + c (3) is 1.5: past a, within c.
    expect(ids(orderTargets(list, 'weighted', T0, scripted(0.3, 0.5)))).toEqual(['b', 'c', 'a']);
    expect(ids(orderTargets(list, 'weighted', T0, scripted(0.99, 0)))).toEqual(['c', 'b', 'a']);
    expect(ids(orderTargets(list, 'weighted', T0, scripted(0, 0)))).toEqual(['a', 'b', 'c']);
  });

  it('puts each target first in proportion to its weight over many draws', () => {
    const list = [candidate('a', { weight: 1 }), candidate('b', { weight: 2 }), candidate('c', { weight: 7 })];
    const first = shareAt(list, 'weighted', 0, 42);
    expect(first.a).toBeCloseTo(0.1, 2);
    expect(first.b).toBeCloseTo(0.2, 2);
    expect(first.c).toBeCloseTo(0.7, 2);
  });

  it('draws the second among the rest by weight (without replacement)', () => {
    const list = [candidate('a', { weight: 1 }), candidate('b', { weight: 2 }), candidate('c', { weight: 7 })];
    const second = shareAt(list, 'weighted', 1, 7);
    // P(a second) = P(b first)·1/8 + P(c first)·1/3; likewise for b and c.
    expect(second.a).toBeCloseTo(0.2 / 8 + 0.7 / 3, 2);
    expect(second.b).toBeCloseTo(0.1 * (2 / 9) + 0.7 * (2 / 3), 2);
    expect(second.c).toBeCloseTo(0.1 * (7 / 9) + 0.2 * (7 / 8), 2);
  });

  it('lists every available target exactly once', () => {
    const list = ['a', 'b', 'c', 'd', 'e'].map((id, index) => candidate(id, { weight: index + 1 }));
    const random = seeded(9);
    for (let draw = 0; draw < 1_000; draw++) expect(ids(orderTargets(list, 'weighted', T0, random)).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('never draws a target of weight 0 before the others', () => {
    const list = [candidate('zero', { weight: 0 }), candidate('a'), candidate('b')];
    const random = seeded(10);
    for (let draw = 0; draw < 1_000; draw++) expect(orderTargets(list, 'weighted', T0, random)[2].id).toBe('zero');
  });
});

describe('orderTargets: priority', () => {
  it('orders by tier, provisioned before standard within a tier', () => {
    const list = [
      candidate('p1-standard', { priority: 1 }),
      candidate('p0-standard', { priority: 0, capacity: 'standard' }),
      candidate('p2-provisioned', { priority: 2, capacity: 'provisioned' }),
      candidate('p0-provisioned', { priority: 0, capacity: 'provisioned' }),
    ];
    const random = seeded(11);
    for (let draw = 0; draw < 100; draw++)
      expect(ids(orderTargets(list, 'priority', T0, random))).toEqual(['p0-provisioned', 'p0-standard', 'p1-standard', 'p2-provisioned']);
  });

  it('spills to the next tier when a tier is unavailable', () => {
    const primary = candidate('primary', { capacity: 'provisioned' });
    primary.health.begin(T0);
    primary.health.end({ ok: false, cause: 'rate_limited', retryAfterMs: 500 }, T0);
    const list = [primary, candidate('spill'), candidate('backup', { priority: 1, capacity: 'provisioned' })];
    expect(ids(orderTargets(list, 'priority', T0, seeded(12)))).toEqual(['spill', 'backup']);
    expect(ids(orderTargets(list, 'priority', T0 + 500, seeded(12)))).toEqual(['primary', 'spill', 'backup']);
  });

  it('orders within a tier by weight, and never across tiers', () => {
    const list = [
      candidate('light', { weight: 1 }),
      candidate('heavy', { weight: 3 }),
      candidate('later-a', { priority: 1, weight: 1 }),
      candidate('later-b', { priority: 1, weight: 1 }),
    ];
    const first = shareAt(list, 'priority', 0, 13);
    expect(first.light).toBeCloseTo(0.25, 2);
    expect(first.heavy).toBeCloseTo(0.75, 2);
    expect(first['later-a'] + first['later-b']).toBe(0);
    const third = shareAt(list, 'priority', 2, 14);
    expect(third['later-a']).toBeCloseTo(0.5, 2);
    expect(third['later-b']).toBeCloseTo(0.5, 2);
  });
});

describe('orderTargets: least_outstanding', () => {
  it('puts the fewest attempts in flight first', () => {
    const list = [withOutstanding(candidate('three'), 3), withOutstanding(candidate('none'), 0), withOutstanding(candidate('one'), 1)];
    expect(ids(orderTargets(list, 'least_outstanding', T0, seeded(15)))).toEqual(['none', 'one', 'three']);
    // Its three attempts end: "three" now ties with "none" ahead of "one".
    for (let i = 0; i < 3; i++) list[0].health.end({ ok: true, latencyMs: 10 }, T0);
    const order = ids(orderTargets(list, 'least_outstanding', T0, seeded(15)));
    expect(order.slice(0, 2).sort()).toEqual(['none', 'three']);
    expect(order[2]).toBe('one');
  });

  it('breaks ties by weight', () => {
    const list = [withOutstanding(candidate('busy', { weight: 100 }), 2), candidate('a', { weight: 1 }), candidate('b', { weight: 4 })];
    const first = shareAt(list, 'least_outstanding', 0, 16);
    expect(first.a).toBeCloseTo(0.2, 2);
    expect(first.b).toBeCloseTo(0.8, 2);
    expect(first.busy).toBe(0);
  });
});

describe('orderTargets: lowest_latency', () => {
  it('tries targets without a sample first, then the lowest average', () => {
    const list = [withLatency(candidate('slow'), 900), withLatency(candidate('fast'), 120), candidate('new'), withLatency(candidate('middle'), 400)];
    expect(ids(orderTargets(list, 'lowest_latency', T0, seeded(17)))).toEqual(['new', 'fast', 'middle', 'slow']);
  });

  it('breaks ties (among new targets too) by weight', () => {
    const list = [withLatency(candidate('known', { weight: 50 }), 10), candidate('a', { weight: 3 }), candidate('b', { weight: 1 })];
    const first = shareAt(list, 'lowest_latency', 0, 18);
    expect(first.a).toBeCloseTo(0.75, 2);
    expect(first.b).toBeCloseTo(0.25, 2);
    expect(first.known).toBe(0);
    const tied = [withLatency(candidate('x', { weight: 1 }), 200), withLatency(candidate('y', { weight: 1 }), 200)];
    const share = shareAt(tied, 'lowest_latency', 0, 19);
    expect(share.x).toBeCloseTo(0.5, 2);
  });
});
