import { Counter, type Registry } from 'prom-client';
import type { InferenceContext } from '../pipeline/context.js';
import { categoriesOf } from './abuse/abuse-monitor.js';
import type { FilterDecision } from './content-filter.js';
import type { SafetyObserver } from './content-safety-stage.js';

/**
 * Azure's content-safety volume metrics, kept whether or not abuse monitoring is on: Blocked Volume
 * and Harmful Volume Detected, by deployment and direction (and category and severity).
 */
export class SafetyMetrics implements SafetyObserver {
  private readonly blocked: Counter<'deployment' | 'direction'>;
  private readonly harmful: Counter<'deployment' | 'direction' | 'category' | 'severity'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.blocked = new Counter({
      name: 'cerulean_content_blocked_total',
      help: 'Blocked Volume: prompts and completions (or stream windows) the content filter blocked, by deployment and direction.',
      labelNames: ['deployment', 'direction'],
      registers,
    });
    this.harmful = new Counter({
      name: 'cerulean_content_harmful_detected_total',
      help: 'Harmful Volume Detected: texts in which the content filter found harm, by deployment, direction, category and severity.',
      labelNames: ['deployment', 'direction', 'category', 'severity'],
      registers,
    });
  }

  observe(context: InferenceContext, direction: 'prompt' | 'completion', decision: FilterDecision): void {
    if (decision.blocked) this.blocked.inc({ deployment: context.deployment, direction });
    if (!decision.flagged) return;
    for (const { category, severity } of categoriesOf(decision.results)) this.harmful.inc({ deployment: context.deployment, direction, category, severity });
  }
}
