import { countPromptTokens } from '../../../ratelimit/prompt-token-counter.js';
import type { CountTokensRequest, MessagesContentBlock, MessagesOtherBlock, MessagesRequest } from './messages-request.js';
import { systemText } from './messages-request.js';

/**
 * Tokens an image costs: Anthropic charges about width × height / 750 and scales images down to
 * about 1.15 megapixels, so no image costs more than this. The estimate does not decode images and
 * charges each the most, which keeps a caller that manages its context window on the safe side.
 */
export const IMAGE_TOKENS = 1600;

/** Tokens per PDF page (Anthropic reads each page as text and as an image: 1,500 to 3,000 in its guidance). */
export const PDF_PAGE_TOKENS = 2000;

/** Framing per message (role and separators), and for the prompt as a whole, as chat estimates count it. */
const MESSAGE_TOKENS = 3;
const PROMPT_TOKENS = 3;

const PDF_PAGE = /\/Type\s*\/Page(?![a-zA-Z])/g;

/**
 * An estimate of a Messages request's input tokens (`POST /v1/messages/count_tokens` answers
 * `{input_tokens}` with it): system prompt, messages and tool definitions, counted with OpenAI's
 * cl100k tokenizer, the nearest offline stand-in for Anthropic's (counts differ by some percent).
 * Tool definitions count as their JSON; tool inputs as their JSON; thinking from earlier turns is
 * not counted, as Anthropic leaves it out of the context.
 */
export function countMessageTokens(request: MessagesRequest | CountTokensRequest): number {
  let total = PROMPT_TOKENS + text(systemText(request.system));
  for (const message of request.messages) {
    total += MESSAGE_TOKENS;
    if (typeof message.content === 'string') total += text(message.content);
    else for (const block of message.content) total += blockTokens(block);
  }
  for (const tool of request.tools ?? []) {
    total += text(JSON.stringify({ name: tool.name, description: tool.description, input_schema: tool.input_schema }));
  }
  return total;
}

function text(value: string): number {
  return countPromptTokens(value, 'cl100k_base');
}

function blockTokens(block: MessagesContentBlock | MessagesOtherBlock): number {
  const fields = block as Record<string, unknown>;
  switch (block.type) {
    case 'text':
      return text(String(fields.text));
    case 'image':
      return IMAGE_TOKENS;
    case 'tool_use':
      return text(String(fields.name)) + text(JSON.stringify(fields.input ?? {}));
    case 'tool_result': {
      const content = fields.content;
      if (typeof content === 'string') return text(content);
      if (!Array.isArray(content)) return 0;
      return (content as MessagesOtherBlock[]).reduce((sum, part) => sum + blockTokens(part), 0);
    }
    case 'document':
      return documentTokens(fields);
    case 'thinking':
    case 'redacted_thinking':
      return 0;
    default:
      // Blocks of other kinds (server tool results, search results): their text as JSON.
      return text(JSON.stringify(block));
  }
}

function documentTokens(fields: Record<string, unknown>): number {
  const source = (fields.source ?? {}) as { type?: unknown; data?: unknown; content?: unknown; media_type?: unknown };
  const title = typeof fields.title === 'string' ? text(fields.title) : 0;
  if (source.type === 'text' && typeof source.data === 'string') return title + text(source.data);
  if (source.type === 'content') {
    if (typeof source.content === 'string') return title + text(source.content);
    if (Array.isArray(source.content)) return title + (source.content as MessagesOtherBlock[]).reduce((sum, part) => sum + blockTokens(part), 0);
  }
  if (source.type === 'base64' && typeof source.data === 'string') {
    const pages = Buffer.from(source.data, 'base64').toString('latin1').match(PDF_PAGE)?.length ?? 1;
    return title + Math.max(1, pages) * PDF_PAGE_TOKENS;
  }
  // A PDF by URL is not fetched to be counted: one page is assumed.
  return title + PDF_PAGE_TOKENS;
}
