import type { Meter } from './meter.js';

/**
 * Settles the reservation the answering attempt holds on its target's own capacity (see
 * TargetQuota), once the request is metered: by then its usage is known, the upstream's or, for a
 * stream that broke off, the estimate of what it delivered. An answer without usage keeps its
 * reservation as taken (the upstream did the work; the estimate is the closest known count).
 */
export const targetQuotaMeter: Meter = {
  record(context) {
    const reservation = context.targetReservation;
    if (reservation === undefined) return;
    context.targetReservation = undefined;
    if (context.usage !== undefined) reservation.settle(context.usage.total_tokens);
  },
};
