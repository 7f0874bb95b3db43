import { describe, expect, it } from 'vitest';
import { countMessageTokens, IMAGE_TOKENS, PDF_PAGE_TOKENS } from '../../../src/api/anthropic/messages/count-tokens.js';
import { parseCountTokensRequest } from '../../../src/api/anthropic/messages/messages-request.js';
import { countTokens } from '../../../src/tokens/tokenizer.js';

const count = (body: unknown): number => countMessageTokens(parseCountTokensRequest(body));

describe('countMessageTokens', () => {
  it('counts the text of system and messages with framing per message', () => {
    const body = { model: 'm', system: 'You are terse.', messages: [{ role: 'user', content: 'Hello there, how are you?' }] };
    expect(count(body)).toBe(3 + countTokens('You are terse.') + 3 + countTokens('Hello there, how are you?'));
  });

  it('grows with every part of the request', () => {
    const base = { model: 'm', messages: [{ role: 'user', content: 'Hi' }] };
    const withSystem = { ...base, system: [{ type: 'text', text: 'A long system prompt about many things.' }] };
    const withTools = {
      ...withSystem,
      tools: [{ name: 'get_weather', description: 'Current weather for a city.', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    };
    const withImage = {
      ...withTools,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hi' },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
          ],
        },
      ],
    };
    expect(count(withSystem)).toBeGreaterThan(count(base));
    expect(count(withTools)).toBeGreaterThan(count(withSystem));
    expect(count(withImage)).toBe(count(withTools) + IMAGE_TOKENS);
  });

  it('counts tool use and results, and leaves earlier thinking out', () => {
    const messages = [
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'A long chain of thought that Anthropic strips from the context.', signature: 's' },
          { type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'Sunny, 21 degrees' }] }] },
    ];
    const expected = 3 + 3 + countTokens('Weather?') + 3 + countTokens('get_weather') + countTokens('{"city":"Paris"}') + 3 + countTokens('Sunny, 21 degrees');
    expect(count({ model: 'm', messages })).toBe(expected);
  });

  it('charges PDFs per page and text documents by their text', () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Pages /Count 2 >>\n2 0 obj << /Type /Page >>\n3 0 obj << /Type/Page >>\n').toString('base64');
    const doc = (source: unknown) => ({ model: 'm', messages: [{ role: 'user', content: [{ type: 'document', source }] }] });
    expect(count(doc({ type: 'base64', media_type: 'application/pdf', data: pdf }))).toBe(6 + 2 * PDF_PAGE_TOKENS);
    expect(count(doc({ type: 'text', media_type: 'text/plain', data: 'Some notes' }))).toBe(6 + countTokens('Some notes'));
  });
});
