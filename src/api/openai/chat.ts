import { z } from 'zod';
import type { PromptReader } from '../../pipeline/inbound-api.js';
import type { JsonObject } from '../../providers/provider.js';
import { partsText, redactContent, withoutDocuments } from '../../safety/prompt-text.js';
import { openAIOperation } from './openai-inference.js';
import { nullable, positiveInt, streamFields } from './schema-parts.js';

/** POST /v1/chat/completions: the internal schema itself. */

const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]).optional(),
});

export const chatSchema = z.looseObject({
  messages: z.array(message).min(1, 'must contain at least one message'),
  n: nullable(z.number().int().min(1).max(128)),
  max_tokens: nullable(positiveInt),
  max_completion_tokens: nullable(positiveInt),
  temperature: nullable(z.number().min(0).max(2)),
  top_p: nullable(z.number().min(0).max(1)),
  seed: nullable(z.number().int()),
  logprobs: nullable(z.boolean()),
  top_logprobs: nullable(z.number().int().min(0).max(20)),
  tools: nullable(z.array(z.looseObject({ type: z.string() }))),
  response_format: nullable(z.looseObject({ type: z.enum(['text', 'json_object', 'json_schema']) })),
  user: nullable(z.string()),
  ...streamFields,
});

/**
 * A chat request's prompt: every message's text joined by newlines, tool (and function) results
 * and `<documents>` sections as grounding documents. Every API translated to chat (Responses,
 * Messages) is read by this reader, so tool results of every API are judged as documents.
 */
export const chatPrompt: PromptReader = {
  read(body) {
    const documents: string[] = [];
    const lines: string[] = [];
    const messages = body.messages;
    if (Array.isArray(messages)) {
      for (const message of messages as Array<{ role?: unknown; content?: unknown }>) {
        const text = partsText(message?.content);
        if (text === '') continue;
        if (message.role === 'tool' || message.role === 'function') {
          documents.push(text);
          continue;
        }
        lines.push(withoutDocuments(text, documents));
      }
    }
    return { text: lines.join('\n'), documents };
  },
  redact(body, redactText) {
    if (!Array.isArray(body.messages)) return undefined;
    let changed = false;
    const messages = (body.messages as unknown[]).map((message) => {
      const result = redactContent((message as { content?: unknown })?.content, redactText);
      if (!result.changed) return message;
      changed = true;
      return { ...(message as JsonObject), content: result.value };
    });
    return changed ? { ...body, messages } : undefined;
  },
};

export const chatOperation = openAIOperation({
  name: 'chat',
  operation: 'chat',
  path: 'chat/completions',
  schema: chatSchema,
  prompt: chatPrompt,
  streams: true,
});
