import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { targetsOf } from '../../src/config/schema.js';
import { DeploymentTable } from '../../src/pipeline/pick-target.js';

const PROVIDERS = `
providers:
  eu: { type: openai-compatible, base_url: "http://eu.example/v1", region: westeurope, data_zone: eu }
  us: { type: openai-compatible, base_url: "http://us.example/v1", region: eastus, data_zone: us }
  anywhere: { type: openai-compatible, base_url: "http://any.example/v1", data_zone: global }
`;

function problems(deployments: string): string {
  try {
    parseConfig(`${PROVIDERS}deployments:\n${deployments}`, 'test.yaml', {});
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('deployments over several targets', () => {
  it('reads a one-target deployment as before, and targets with their defaults', () => {
    const config = parseConfig(
      `${PROVIDERS}deployments:\n  one: { provider: eu, model: m }\n  many:\n    strategy: priority\n    targets:\n      - { provider: eu, model: m, capacity: provisioned }\n      - { provider: us, model: m, weight: 3, priority: 1 }\n`,
      'test.yaml',
      {},
    );
    expect(targetsOf(config.deployments.one)).toEqual([{ provider: 'eu', model: 'm', weight: 1, priority: 0, capacity: 'standard' }]);
    expect(config.deployments.one.strategy).toBeUndefined();
    expect(targetsOf(config.deployments.many)).toEqual([
      { provider: 'eu', model: 'm', weight: 1, priority: 0, capacity: 'provisioned' },
      { provider: 'us', model: 'm', weight: 3, priority: 1, capacity: 'standard' },
    ]);
  });

  it("names each target's region: its own when given, else its provider's", async () => {
    const config = parseConfig(
      `${PROVIDERS}deployments:\n  many:\n    targets:\n      - { provider: eu, model: m }\n      - { provider: eu, model: n, region: northeurope }\n`,
      'test.yaml',
      {},
    );
    const table = new DeploymentTable(config);
    try {
      expect(table.routesOf('many')?.routes.map((route) => [route.id, route.region, route.zone])).toEqual([
        ['eu/m', 'westeurope', 'eu'],
        ['eu/n', 'northeurope', 'eu'],
      ]);
    } finally {
      await table.close();
    }
  });

  it('reports every mistake with its path: both forms, an unknown target, an unknown fallback', () => {
    expect(problems('  both: { provider: eu, model: m, targets: [{ provider: eu, model: m }] }\n')).toContain(
      'deployments.both: give either `provider` and `model`, or `targets`',
    );
    expect(problems('  half: { provider: eu }\n')).toContain('deployments.half: give either');
    expect(problems('  t: { targets: [{ provider: eu, model: m }, { provider: mars, model: m }] }\n')).toContain(
      'deployments.t.targets.1.provider: unknown provider "mars"',
    );
    expect(problems('  a: { provider: eu, model: m, fallbacks: [{ deployment: nowhere }] }\n')).toContain(
      'deployments.a.fallbacks.0.deployment: unknown deployment "nowhere"',
    );
  });

  it("reads a target's own tpm and rpm, and refuses two capacities for one upstream", async () => {
    const config = parseConfig(
      `${PROVIDERS}deployments:\n  many:\n    targets:\n      - { provider: eu, model: m, tpm: 30000, rpm: 180 }\n      - { provider: us, model: m }\n`,
      'test.yaml',
      {},
    );
    const table = new DeploymentTable(config);
    try {
      expect(table.routesOf('many')?.routes.map((route) => route.limits && [route.limits.tpm, route.limits.rpm])).toEqual([[30_000, 180], undefined]);
    } finally {
      await table.close();
    }
    expect(problems('  a: { targets: [{ provider: eu, model: m, rpm: 0 }] }\n')).toContain('deployments.a.targets.0.rpm');
    // The same provider and model in two deployments is one upstream, with one capacity.
    expect(
      problems('  a: { targets: [{ provider: eu, model: m, rpm: 5 }] }\n  b: { targets: [{ provider: eu, model: n }, { provider: eu, model: m, rpm: 6 }] }\n'),
    ).toContain('deployments.b.targets.1: provider "eu" model "m" is also a target at deployments.a.targets.0 with another tpm/rpm');
    expect(problems('  a: { targets: [{ provider: eu, model: m, rpm: 5 }] }\n  b: { provider: eu, model: m }\n')).toContain(
      'deployments.b: provider "eu" model "m"',
    );
    expect(problems('  a: { targets: [{ provider: eu, model: m, rpm: 5 }] }\n  b: { targets: [{ provider: eu, model: m, rpm: 5 }] }\n')).toBe('');
  });

  it('reports a cycle of fallbacks once, naming it', () => {
    const text = problems(
      '  a: { provider: eu, model: m, fallbacks: [{ deployment: b }] }\n  b: { provider: eu, model: m, fallbacks: [{ deployment: c }] }\n  c: { provider: eu, model: m, fallbacks: [{ deployment: a }] }\n',
    );
    expect(text).toContain('a cycle of fallbacks: a -> b -> c -> a');
    expect(text.match(/a cycle of fallbacks/g)).toHaveLength(1);
  });

  it('refuses a fallback that takes data outside the zones the deployment keeps it in', () => {
    expect(problems('  eu-only: { provider: eu, model: m, fallbacks: [{ deployment: us-only }] }\n  us-only: { provider: us, model: m }\n')).toContain(
      'deployments.eu-only.fallbacks.0.deployment: "us-only" processes data in us, outside this deployment\'s zones (eu)',
    );
    // Inside the zone, or from a deployment whose data may go anywhere: fine.
    expect(problems('  eu-a: { provider: eu, model: m, fallbacks: [{ deployment: eu-b }] }\n  eu-b: { provider: eu, model: n }\n')).toBe('');
    expect(problems('  any: { provider: anywhere, model: m, fallbacks: [{ deployment: us-only }] }\n  us-only: { provider: us, model: m }\n')).toBe('');
  });
});
