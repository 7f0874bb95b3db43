import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { reloadChanges, reloadMessage } from '../../src/config/reload-scope.js';

const BASE = `
server: { port: 8080, region: eu }
providers: { up: { type: openai-compatible, base_url: "http://127.0.0.1:1/v1" } }
deployments: { chat: { provider: up, model: m } }
`;
const parse = (text: string) => parseConfig(text, 'test.yaml', {});

describe('what a reload applies', () => {
  it('applies deployments and the server region, and names what needs a restart', () => {
    const started = parse(BASE);
    const regionOnly = parse(BASE.replace('region: eu', 'region: us').replace('model: m', 'model: n'));
    expect(reloadChanges(started, regionOnly)).toEqual({ changed: ['deployments', 'server'], needsRestart: [] });
    expect(reloadMessage(reloadChanges(started, regionOnly))).toBe('configuration reloaded');

    const moved = parse(`${BASE.replace('port: 8080', 'port: 9090')}\nstorage: { url: "postgres://db/x" }\n`);
    const changes = reloadChanges(started, moved);
    expect(changes).toEqual({ changed: ['server', 'storage'], needsRestart: ['server', 'storage'] });
    expect(reloadMessage(changes)).toBe('configuration reloaded; server, storage changes need a restart');
  });

  it('applies the drain delay, and not the connection cap or the trusted proxies, which the listener took at start', () => {
    const started = parse(BASE);
    expect(reloadChanges(started, parse(BASE.replace('region: eu', 'region: eu, drain_delay_ms: 5000'))).needsRestart).toEqual([]);
    expect(reloadChanges(started, parse(BASE.replace('region: eu', 'region: eu, max_connections: 100'))).needsRestart).toEqual(['server']);
    expect(reloadChanges(started, parse(BASE.replace('region: eu', 'region: eu, trust_proxy: true'))).needsRestart).toEqual(['server']);
  });

  it('keeps reporting a change that waits for a restart, against what the process started with', () => {
    const started = parse(BASE);
    const moved = parse(BASE.replace('port: 8080', 'port: 9090'));
    const thenDeployments = parse(BASE.replace('port: 8080', 'port: 9090').replace('model: m', 'model: n'));
    expect(reloadChanges(moved, thenDeployments, started)).toEqual({ changed: ['deployments'], needsRestart: ['server'] });
    expect(reloadChanges(thenDeployments, started, started)).toEqual({ changed: ['deployments', 'server'], needsRestart: [] });
  });

  it('leaves tracing as the process started it: the tracer provider is built once', () => {
    const started = parse(BASE);
    const traced = parse(`${BASE}\ntelemetry: { traces: { enabled: true, endpoint: "http://collector:4318/v1/traces" } }\n`);
    expect(reloadChanges(started, traced)).toEqual({ changed: ['telemetry'], needsRestart: ['telemetry'] });
  });

  it('applies abuse-monitoring thresholds but not turning monitoring on', () => {
    const on = parse(`${BASE}\ncontent_safety: { abuse_monitoring: { flag_threshold: 5 } }\n`);
    const tuned = parse(`${BASE}\ncontent_safety: { abuse_monitoring: { flag_threshold: 9 } }\n`);
    expect(reloadChanges(on, tuned).needsRestart).toEqual([]);
    expect(reloadChanges(parse(BASE), on)).toEqual({ changed: ['content_safety'], needsRestart: ['content_safety.abuse_monitoring'] });
  });
});
