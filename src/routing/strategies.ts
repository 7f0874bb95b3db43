import type { TargetHealth } from './target-health.js';

/**
 * How a request picks the order in which to try a deployment's targets. Runs once per request, so
 * it allocates nothing but the array it returns: the sorts compare with module-level functions,
 * the weighted draws shuffle that array in place, and a deployment's handful of targets keeps the
 * quadratic draw cheaper than building keys to sort by.
 */

export interface Candidate {
  readonly id: string;
  /** Share of traffic relative to the others; greater than 0 (configuration checks it), default 1. */
  readonly weight: number;
  /** Tier for the `priority` strategy: lower tiers are tried first; default 0. */
  readonly priority: number;
  readonly capacity: 'provisioned' | 'standard';
  readonly health: TargetHealth;
}

/**
 * - `weighted`: a weighted random order: the first target drawn by weight, the next by weight
 *   among the rest, and so on.
 * - `priority`: tier by tier (lowest `priority` first; within one, provisioned capacity before
 *   standard, so paid-for throughput is used before spilling to pay-as-you-go), weighted random
 *   within a tier.
 * - `least_outstanding`: fewest attempts in flight first.
 * - `lowest_latency`: lowest moving average of time to first byte first; targets without a sample
 *   yet come before all others, so each is measured once it is available.
 *
 * Ties in the last three are broken by a weighted random order.
 */
export type Strategy = 'weighted' | 'priority' | 'least_outstanding' | 'lowest_latency';

/**
 * The order in which to try the candidates: those available now, ordered by the strategy; those
 * unavailable (drained, cooling down, breaker open or out of probes) are left out, so the result
 * may be empty. `random` returns numbers in [0, 1), as Math.random does; tests pass a seeded one.
 */
export function orderTargets(candidates: readonly Candidate[], strategy: Strategy, now: number, random: () => number = Math.random): Candidate[] {
  const order: Candidate[] = [];
  for (const candidate of candidates) if (candidate.health.available(now)) order.push(candidate);
  if (order.length < 2) return order;
  switch (strategy) {
    case 'weighted':
      shuffleWeighted(order, 0, order.length, random);
      break;
    case 'priority':
      sortThenShuffleTies(order, byTier, random);
      break;
    case 'least_outstanding':
      sortThenShuffleTies(order, byOutstanding, random);
      break;
    case 'lowest_latency':
      sortThenShuffleTies(order, byLatency, random);
      break;
    default: {
      const unknown: never = strategy;
      throw new TypeError(`unknown routing strategy "${String(unknown)}"`);
    }
  }
  return order;
}

type Comparison = (a: Candidate, b: Candidate) => number;

const byTier: Comparison = (a, b) => a.priority - b.priority || capacityRank(a) - capacityRank(b);

const byOutstanding: Comparison = (a, b) => a.health.outstanding() - b.health.outstanding();

const byLatency: Comparison = (a, b) => {
  const left = a.health.latencyEwma();
  const right = b.health.latencyEwma();
  if (left === undefined) return right === undefined ? 0 : -1;
  if (right === undefined) return 1;
  return left - right;
};

function capacityRank(candidate: Candidate): number {
  return candidate.capacity === 'provisioned' ? 0 : 1;
}

/** Sorts (stably) by `compare`, then puts each run of equal candidates in weighted random order. */
function sortThenShuffleTies(order: Candidate[], compare: Comparison, random: () => number): void {
  order.sort(compare);
  let start = 0;
  for (let index = 1; index <= order.length; index++) {
    if (index < order.length && compare(order[start], order[index]) === 0) continue;
    if (index - start > 1) shuffleWeighted(order, start, index, random);
    start = index;
  }
}

/**
 * Puts `order[start..end)` in weighted random order without replacement: each position is drawn
 * by weight among the candidates not yet placed, and swapped into place. The total is summed
 * afresh for each draw, in the same order as the running sum that finds the pick, so a draw below
 * the total always lands on a candidate; a candidate of weight 0 is never drawn before the others.
 */
function shuffleWeighted(order: Candidate[], start: number, end: number, random: () => number): void {
  for (let position = start; position < end - 1; position++) {
    let total = 0;
    for (let index = position; index < end; index++) total += order[index].weight;
    // Only weights of 0 (or not numbers) left: nothing to draw by, so the rest keep their order.
    if (!(total > 0)) return;
    const draw = random() * total;
    let cumulative = 0;
    for (let index = position; index < end; index++) {
      cumulative += order[index].weight;
      if (draw < cumulative) {
        const picked = order[index];
        order[index] = order[position];
        order[position] = picked;
        break;
      }
    }
  }
}
