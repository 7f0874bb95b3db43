import type { JsonObject } from '../../../providers/provider.js';
import { promptOf, type PromptText } from '../../../safety/prompt-text.js';
import { systemText, type CountTokensRequest, type MessagesRequest } from './messages-request.js';

/**
 * The prompt of a Messages request as the content filter judges it, read the way chat prompts are
 * (`promptOf`), so both APIs are judged alike: the system prompt and the text of every turn are
 * the prompt; tool results and text documents are grounding content, judged for indirect attacks.
 * Images and PDFs are not read. Works on any valid body, whatever its target, since block kinds
 * only Anthropic takes are read past rather than refused.
 */
export function messagesPromptOf(request: MessagesRequest | CountTokensRequest): PromptText {
  const messages: JsonObject[] = [];
  const system = systemText(request.system);
  if (system !== '') messages.push({ role: 'system', content: system });
  for (const message of request.messages) {
    if (typeof message.content === 'string') {
      messages.push({ role: message.role, content: message.content });
      continue;
    }
    const texts: string[] = [];
    for (const block of message.content as JsonObject[]) {
      if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
      else if (block.type === 'tool_result') messages.push({ role: 'tool', content: groundingText(block.content) });
      else if (block.type === 'document') messages.push({ role: 'tool', content: documentText(block.source) });
    }
    if (texts.length > 0) messages.push({ role: message.role, content: texts.join('\n') });
  }
  return promptOf('chat', { messages }) as PromptText;
}

/** The text of a tool result's content: a string, or its text blocks (documents inside included). */
function groundingText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const block of content as JsonObject[]) {
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'document') texts.push(documentText(block.source));
  }
  return texts.filter((text) => text !== '').join('\n');
}

function documentText(source: unknown): string {
  const { type, data, content } = (source ?? {}) as { type?: unknown; data?: unknown; content?: unknown };
  if (type === 'text' && typeof data === 'string') return data;
  if (type === 'content') return groundingText(content);
  return '';
}
