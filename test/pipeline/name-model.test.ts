import { describe, expect, it } from 'vitest';
import { renamedRaw } from '../../src/pipeline/name-model.js';

describe('renamedRaw: the upstream JSON text naming the requested model', () => {
  it("changes the one model field in place, keeping every other byte (OpenAI's spacing)", () => {
    const raw = '{\n  "id": "chatcmpl-1",\n  "object": "chat.completion",\n  "model": "gpt-4o-mini-2024-07-18",\n  "choices": []\n}\n';
    const renamed = renamedRaw(raw, 'gpt-4o-mini-2024-07-18', 'chat');
    expect(renamed).toBe('{\n  "id": "chatcmpl-1",\n  "object": "chat.completion",\n  "model": "chat",\n  "choices": []\n}\n');
    expect(JSON.parse(renamed as string)).toEqual({ ...JSON.parse(raw), model: 'chat' });
  });

  it('escapes the new name as JSON does', () => {
    const renamed = renamedRaw('{"model":"m"}', 'm', 'a"b\\c');
    expect(JSON.parse(renamed as string)).toEqual({ model: 'a"b\\c' });
  });

  it('ignores "model" inside strings: escaped there, never a key', () => {
    const raw = JSON.stringify({ model: 'm', choices: [{ message: { content: 'say "model": "x" and {"model":"y"}' } }] });
    expect(JSON.parse(renamedRaw(raw, 'm', 'chat') as string)).toEqual({ ...JSON.parse(raw), model: 'chat' });
  });

  it('gives up (serialize anew) when the text has another "model" key, or its value is written with escapes', () => {
    expect(renamedRaw('{"model":"m","tool":{"model":"m"}}', 'm', 'chat')).toBeUndefined();
    expect(renamedRaw('{"model":"m\\u0031"}', 'm1', 'chat')).toBeUndefined();
    expect(renamedRaw('{"id":"x"}', 'm', 'chat')).toBeUndefined();
  });
});
