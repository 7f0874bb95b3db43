// Percentiles over latency samples held in microseconds; summaries are reported in milliseconds.

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

const ms = (us) => Math.round(us) / 1000;

/** { n, mean, p50, p90, p99, max } in ms (microsecond resolution) of finite samples in µs. */
export function summarize(samplesUs) {
  const sorted = Float64Array.from(samplesUs).filter(Number.isFinite).sort();
  if (sorted.length === 0) return { n: 0, mean: null, p50: null, p90: null, p99: null, max: null };
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    n: sorted.length,
    mean: ms(sum / sorted.length),
    p50: ms(percentile(sorted, 0.5)),
    p90: ms(percentile(sorted, 0.9)),
    p99: ms(percentile(sorted, 0.99)),
    max: ms(sorted[sorted.length - 1]),
  };
}

export const round = (value, digits = 3) => (value === null || !Number.isFinite(value) ? null : Math.round(value * 10 ** digits) / 10 ** digits);
