import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';

describe('logger', () => {
  it('writes JSON lines and redacts credentials wherever they appear', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        callback();
      },
    });
    const logger = createLogger('info', sink);
    logger.info(
      { req: { headers: { authorization: 'Bearer sk-secret-1', 'api-key': 'azure-secret-2', 'x-api-key': 'ant-3', 'x-goog-api-key': 'goog-4' } } },
      'incoming',
    );
    logger.info({ provider: { api_key: 'sk-provider-5', type: 'openai' } }, 'provider');
    const text = lines.join('\n');
    for (const secret of ['sk-secret-1', 'azure-secret-2', 'ant-3', 'goog-4', 'sk-provider-5']) expect(text).not.toContain(secret);
    const first = JSON.parse(lines[0]) as { level: number; msg: string; req: { headers: Record<string, string> } };
    expect(first).toMatchObject({ level: 30, msg: 'incoming' });
    expect(first.req.headers.authorization).toBe('[redacted]');
    expect(JSON.parse(lines[1]).provider).toEqual({ api_key: '[redacted]', type: 'openai' });
  });

  it('writes `HH:MM:SS LEVEL message key=value` lines in pretty mode, still redacted', () => {
    let text = '';
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    });
    const logger = createLogger('info', sink, 'pretty');
    logger.info({ deployment: 'chat', status: 200, note: 'two words', headers: { authorization: 'Bearer sk-secret-1' } }, 'request');
    logger.error({ err: new Error('boom') }, 'reload failed');
    const [first, second, ...stack] = text.trimEnd().split('\n');
    expect(first).toMatch(/^\d\d:\d\d:\d\d INFO {2}request deployment=chat status=200 note="two words" headers=\{"authorization":"\[redacted\]"\}$/);
    expect(second).toMatch(/^\d\d:\d\d:\d\d ERROR reload failed err=boom$/);
    expect(stack[0]).toMatch(/^ {4}at /);
    expect(text).not.toContain('sk-secret-1');
  });
});
