/**
 * Helpers the inbound operations use to say how their prompts are read and redacted
 * (`PromptReader` in src/pipeline/inbound-api.ts): text parts of a content array, grounding
 * documents, redaction along the changed path only.
 */

const DOCUMENTS = /<documents>([\s\S]*?)<\/documents>/gi;

/** The text of a message content: a string, or the `text` of its `{type: 'text'}` parts joined by newlines. */
export function partsText(content: unknown, textType = 'text'): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (part && typeof part === 'object' && (part as { type?: unknown }).type === textType && typeof (part as { text?: unknown }).text === 'string') {
      out += (out ? '\n' : '') + (part as { text: string }).text;
    }
  }
  return out;
}

/**
 * `text` with its `<documents>…</documents>` sections removed, their contents appended to
 * `documents`. Text without a `<` cannot have one (most messages): no regular expression runs.
 */
export function withoutDocuments(text: string, documents: string[]): string {
  if (!text.includes('<')) return text;
  return text.replace(DOCUMENTS, (_match, inner: string) => {
    documents.push(inner);
    return '';
  });
}

/**
 * A content (a string, or parts whose `{type: textType}` parts carry `text`) with every text passed
 * through `redactText`; `changed` false (and the same value) when nothing was redacted.
 */
export function redactContent(content: unknown, redactText: (text: string) => string | undefined, textType = 'text'): { value: unknown; changed: boolean } {
  if (typeof content === 'string') {
    const redacted = redactText(content);
    return redacted === undefined ? { value: content, changed: false } : { value: redacted, changed: true };
  }
  if (!Array.isArray(content)) return { value: content, changed: false };
  let changed = false;
  const parts = content.map((part) => {
    if (!part || typeof part !== 'object' || (part as { type?: unknown }).type !== textType) return part;
    const text = (part as { text?: unknown }).text;
    if (typeof text !== 'string') return part;
    const redacted = redactText(text);
    if (redacted === undefined) return part;
    changed = true;
    return { ...(part as object), text: redacted };
  });
  return { value: changed ? parts : content, changed };
}

/** A string or list-of-strings prompt (`prompt` of completions and images) with each string passed through `redactText`. */
export function redactPromptField(
  body: Record<string, unknown>,
  field: string,
  redactText: (text: string) => string | undefined,
): Record<string, unknown> | undefined {
  const prompt = body[field];
  if (typeof prompt === 'string') {
    const redacted = redactText(prompt);
    return redacted === undefined ? undefined : { ...body, [field]: redacted };
  }
  if (!Array.isArray(prompt)) return undefined;
  let changed = false;
  const prompts = prompt.map((item) => {
    if (typeof item !== 'string') return item;
    const redacted = redactText(item);
    if (redacted === undefined) return item;
    changed = true;
    return redacted;
  });
  return changed ? { ...body, [field]: prompts } : undefined;
}
