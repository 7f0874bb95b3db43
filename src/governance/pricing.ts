import type { Usage } from '../providers/provider.js';
import type { Prices } from '../storage/storage.js';

/**
 * Cost in integer micro-dollars. Prices are micro-dollars per million tokens, so a token costs
 * price / 1e6 micro-dollars; the sum is rounded once, at the end, so a request is never charged
 * more than a micro-dollar away from its exact price.
 */
export function costOf(prices: Prices | null | undefined, usage: Usage | undefined, images = 0): number {
  if (!prices) return 0;
  const prompt = usage?.prompt_tokens ?? 0;
  const cached = Math.min(prompt, usage?.prompt_tokens_details?.cached_tokens ?? 0);
  const written = Math.min(prompt - cached, usage?.prompt_tokens_details?.cache_creation_tokens ?? 0);
  const completion = usage?.completion_tokens ?? 0;
  const tokens =
    (prompt - cached - written) * prices.inputPerMillion +
    cached * prices.cachedInputPerMillion +
    // A policy snapshot saved before cache writes had a price of their own has none: the input price.
    written * (prices.cacheWritePerMillion ?? prices.inputPerMillion) +
    completion * prices.outputPerMillion;
  return Math.round(tokens / 1_000_000 + images * prices.perImage);
}

/** The most a request can cost: every prompt token uncached, every allowed completion token generated. */
export function worstCaseCost(prices: Prices | null | undefined, promptTokens: number, maxCompletionTokens: number, images = 0): number {
  if (!prices) return 0;
  return Math.ceil((promptTokens * prices.inputPerMillion + maxCompletionTokens * prices.outputPerMillion) / 1_000_000 + images * prices.perImage);
}
