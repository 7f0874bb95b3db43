import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFERENCE_BEGIN, REFERENCE_END, referenceRows, renderConfigReference } from '../../src/config/config-reference.js';
import { parseConfig } from '../../src/config/load.js';

const DOC = new URL('../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  it('describes every configuration key', () => {
    const undescribed = referenceRows()
      .filter((row) => !row.description)
      .map((row) => row.path);
    expect(undescribed, 'add .describe() to these keys in src/config/schema.ts, then run npm run docs').toEqual([]);
  });

  it('holds the reference generated from the schema as it is now', () => {
    const text = readFileSync(DOC, 'utf8');
    const generated = text.slice(text.indexOf(REFERENCE_BEGIN), text.indexOf(REFERENCE_END) + REFERENCE_END.length);
    expect(generated, 'docs/configuration.md is stale: run npm run docs').toBe(renderConfigReference());
  });

  it('lists the keys of nested sections, with defaults', () => {
    const rows = new Map(referenceRows().map((row) => [row.path, row]));
    expect(rows.get('server.port')).toMatchObject({ fallback: '`8080`' });
    expect(rows.get('providers.<name>.timeouts.first_byte_ms')).toMatchObject({ fallback: '`60000`' });
    expect(rows.get('auth.oidc[].jwks_uri')).toMatchObject({ type: 'URL', fallback: 'required' });
    expect(rows.get('content_safety.classifiers.<name>.type')?.type).toContain('`llama-guard`');
    expect(rows.get('content_safety.abuse_monitoring.actions')).toMatchObject({ fallback: '`["notify","throttle"]`' });
  });

  it('shows examples that Cerulean accepts', () => {
    const blocks = [...readFileSync(DOC, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    const env = { OPENAI_API_KEY: 'sk-test', POSTGRES_PASSWORD: 'secret', ENTRA_TENANT_ID: 'tenant' };
    for (const block of blocks) expect(() => parseConfig(block, 'docs/configuration.md', env), block).not.toThrow();
  });
});
