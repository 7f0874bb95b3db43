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

describe('deployment types (Azure: Global, Data Zone, Regional)', () => {
  const TYPED_PROVIDERS = `
providers:
  we: { type: openai-compatible, base_url: "http://we.example/v1", region: westeurope, data_zone: eu }
  fr: { type: openai-compatible, base_url: "http://fr.example/v1", region: francecentral, data_zone: eu }
  us: { type: openai-compatible, base_url: "http://us.example/v1", region: eastus, data_zone: us }
  anywhere: { type: openai-compatible, base_url: "http://any.example/v1", region: global, data_zone: global }
  bare: { type: openai-compatible, base_url: "http://bare.example/v1" }
`;
  function typed(deployments: string): string {
    try {
      parseConfig(`${TYPED_PROVIDERS}deployments:\n${deployments}`, 'test.yaml', {});
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  }

  it('accepts deployments whose targets keep to their type, and a global one anywhere', async () => {
    const deployments = [
      '  zoned: { type: data_zone, targets: [{ provider: we, model: m }, { provider: fr, model: m }] }',
      '  regional: { type: regional, targets: [{ provider: we, model: m }, { provider: bare, model: n, region: westeurope }] }',
      '  single: { type: regional, provider: us, model: m }',
      '  everywhere: { type: global, targets: [{ provider: us, model: m }, { provider: we, model: m }, { provider: bare, model: m }] }',
    ];
    expect(typed(`${deployments.join('\n')}\n`)).toBe('');
    const config = parseConfig(`${TYPED_PROVIDERS}deployments:\n${deployments.join('\n')}\n`, 'test.yaml', {});
    const table = new DeploymentTable(config);
    try {
      expect(table.routesOf('zoned')?.type).toBe('data_zone');
      expect(table.routesOf('everywhere')?.type).toBe('global');
    } finally {
      await table.close();
    }
  });

  it('reports a data_zone deployment over several zones, an undeclared zone, or the global zone, with the path', () => {
    expect(typed('  z: { type: data_zone, targets: [{ provider: we, model: m }, { provider: us, model: m }] }\n')).toContain(
      'deployments.z.type: "data_zone" needs every target in one data zone (its targets are in eu, us)',
    );
    expect(typed('  z: { type: data_zone, targets: [{ provider: we, model: m }, { provider: bare, model: m }] }\n')).toContain(
      'deployments.z.targets.1.provider: provider "bare" declares no data_zone, which a data_zone deployment needs',
    );
    expect(typed('  z: { type: data_zone, provider: anywhere, model: m }\n')).toContain(
      'deployments.z.provider: provider "anywhere" is in data zone "global", which a data_zone deployment may not use',
    );
  });

  it('reports a regional deployment over several regions or with a target of no declared region, with the path', () => {
    expect(typed('  r: { type: regional, targets: [{ provider: we, model: m }, { provider: fr, model: m }] }\n')).toContain(
      'deployments.r.type: "regional" needs every target in one region (its targets are in westeurope, francecentral)',
    );
    // A target's own region overrides its provider's.
    expect(typed('  r: { type: regional, targets: [{ provider: we, model: m }, { provider: we, model: n, region: northeurope }] }\n')).toContain(
      'deployments.r.type: "regional" needs every target in one region (its targets are in westeurope, northeurope)',
    );
    // The server's region is not a declaration.
    expect(typed('  r: { type: regional, targets: [{ provider: we, model: m }, { provider: bare, model: m }] }\n')).toContain(
      "deployments.r.targets.1.region: a regional deployment's target needs a region (its own or its provider's)",
    );
  });

  it("reports a fallback that leaves a regional deployment's region or a data zone deployment's zone", () => {
    expect(typed('  r: { type: regional, provider: we, model: m, fallbacks: [{ deployment: other }] }\n  other: { provider: fr, model: m }\n')).toContain(
      'deployments.r.fallbacks.0.deployment: "other" serves from francecentral, outside this regional deployment\'s region (westeurope)',
    );
    expect(typed('  r: { type: regional, provider: we, model: m, fallbacks: [{ deployment: same }] }\n  same: { provider: we, model: n }\n')).toBe('');
    expect(typed('  z: { type: data_zone, provider: we, model: m, fallbacks: [{ deployment: other }] }\n  other: { provider: us, model: m }\n')).toContain(
      'deployments.z.fallbacks.0.deployment: "other" processes data in us, outside this deployment\'s zones (eu)',
    );
  });

  it('refuses an unknown type', () => {
    expect(typed('  t: { type: zonal, provider: we, model: m }\n')).toContain('deployments.t.type');
  });
});
