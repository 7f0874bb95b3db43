import type { JsonObject, Operation } from '../providers/provider.js';
import type { PiiScanner } from './content-filter.js';

export interface PromptText {
  /** What the caller asked, as one text (messages joined by newlines). */
  readonly text: string;
  /** Grounding content: tool results and `<documents>…</documents>` sections, judged for indirect attacks. */
  readonly documents: string[];
}

const DOCUMENTS = /<documents>([\s\S]*?)<\/documents>/gi;

function partsText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (part && typeof part === 'object' && (part as { type?: unknown }).type === 'text' && typeof (part as { text?: unknown }).text === 'string') {
      out += (out ? '\n' : '') + (part as { text: string }).text;
    }
  }
  return out;
}

/**
 * `text` with its `<documents>…</documents>` sections removed, their contents appended to
 * `documents`. Text without a `<` cannot have one (most messages): no regular expression runs.
 */
function withoutDocuments(text: string, documents: string[]): string {
  if (!text.includes('<')) return text;
  return text.replace(DOCUMENTS, (_match, inner: string) => {
    documents.push(inner);
    return '';
  });
}

/** The prompt of a request as the filter judges it; undefined for operations that are not filtered (embeddings). */
export function promptOf(operation: Operation, body: JsonObject): PromptText | undefined {
  const documents: string[] = [];
  const lines: string[] = [];
  switch (operation) {
    case 'chat':
      for (const message of (body.messages as Array<{ role?: unknown; content?: unknown }>) ?? []) {
        const text = partsText(message.content);
        if (text === '') continue;
        if (message.role === 'tool' || message.role === 'function') {
          documents.push(text);
          continue;
        }
        lines.push(withoutDocuments(text, documents));
      }
      break;
    case 'completions': {
      const prompt = body.prompt;
      if (typeof prompt === 'string') lines.push(prompt);
      else if (Array.isArray(prompt)) for (const item of prompt) if (typeof item === 'string') lines.push(item);
      break;
    }
    case 'images':
      if (typeof body.prompt === 'string') lines.push(body.prompt);
      break;
    case 'embeddings':
      return undefined;
  }
  return { text: lines.join('\n'), documents };
}

function redactContent(content: unknown, scanner: PiiScanner): { value: unknown; changed: boolean } {
  if (typeof content === 'string') {
    const matches = scanner.detect(content);
    return matches.length === 0 ? { value: content, changed: false } : { value: scanner.redact(content, matches), changed: true };
  }
  if (!Array.isArray(content)) return { value: content, changed: false };
  let changed = false;
  const parts = content.map((part) => {
    if (!part || typeof part !== 'object' || (part as { type?: unknown }).type !== 'text') return part;
    const result = redactContent((part as { text?: unknown }).text, scanner);
    if (!result.changed) return part;
    changed = true;
    return { ...(part as object), text: result.value };
  });
  return { value: changed ? parts : content, changed };
}

/**
 * The body with personal data in its text replaced by `[REDACTED:TYPE]`, or undefined when there was
 * none. The caller's object is never modified: a new body is built along the changed path only.
 */
export function redactPrompt(operation: Operation, body: JsonObject, scanner: PiiScanner): JsonObject | undefined {
  switch (operation) {
    case 'chat': {
      let changed = false;
      const messages = ((body.messages as unknown[]) ?? []).map((message) => {
        const content = (message as { content?: unknown }).content;
        const result = redactContent(content, scanner);
        if (!result.changed) return message;
        changed = true;
        return { ...(message as object), content: result.value };
      });
      return changed ? { ...body, messages } : undefined;
    }
    case 'completions':
    case 'images': {
      const prompt = body.prompt;
      if (typeof prompt === 'string') {
        const result = redactContent(prompt, scanner);
        return result.changed ? { ...body, prompt: result.value } : undefined;
      }
      if (Array.isArray(prompt)) {
        let changed = false;
        const prompts = prompt.map((item) => {
          const result = redactContent(item, scanner);
          changed ||= result.changed;
          return result.value;
        });
        return changed ? { ...body, prompt: prompts } : undefined;
      }
      return undefined;
    }
    case 'embeddings':
      return undefined;
  }
}
