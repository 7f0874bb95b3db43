import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { InferenceContext } from '../../src/pipeline/context.js';
import type { FilterDecision } from '../../src/safety/content-filter.js';
import { SafetyMetrics } from '../../src/safety/safety-metrics.js';

const context = { deployment: 'chat' } as InferenceContext;
const BLOCKED: FilterDecision = {
  results: { hate: { filtered: true, severity: 'high' }, jailbreak: { filtered: true, detected: true } },
  blocked: true,
  flagged: true,
  worst: { category: 'hate', severity: 'high' },
};
const FLAGGED: FilterDecision = {
  results: { violence: { filtered: false, severity: 'low' } },
  blocked: false,
  flagged: true,
  worst: { category: 'violence', severity: 'low' },
};
const CLEAN: FilterDecision = {
  results: { hate: { filtered: false, severity: 'safe' } },
  blocked: false,
  flagged: false,
  worst: { category: null, severity: 'safe' },
};
/** A classifier failed closed: blocked, nothing found. */
const FAILED_CLOSED: FilterDecision = {
  results: { error: { code: 'content_filter_error', message: 'x' } },
  blocked: true,
  flagged: false,
  worst: { category: null, severity: 'safe' },
};

describe('content-safety volume metrics', () => {
  it('counts blocked volume per direction and harmful volume per category and severity', async () => {
    const registry = new Registry();
    const metrics = new SafetyMetrics(registry);
    metrics.observe(context, 'prompt', BLOCKED);
    metrics.observe(context, 'completion', BLOCKED);
    metrics.observe(context, 'completion', FLAGGED);
    metrics.observe(context, 'completion', CLEAN);
    metrics.observe(context, 'prompt', FAILED_CLOSED);
    const text = await registry.metrics();
    expect(text).toContain('cerulean_content_blocked_total{deployment="chat",direction="prompt"} 2');
    expect(text).toContain('cerulean_content_blocked_total{deployment="chat",direction="completion"} 1');
    expect(text).toContain('cerulean_content_harmful_detected_total{deployment="chat",direction="completion",category="hate",severity="high"} 1');
    expect(text).toContain('cerulean_content_harmful_detected_total{deployment="chat",direction="prompt",category="jailbreak",severity="detected"} 1');
    expect(text).toContain('cerulean_content_harmful_detected_total{deployment="chat",direction="completion",category="violence",severity="low"} 1');
    expect(text).not.toContain('severity="safe"');
  });
});
