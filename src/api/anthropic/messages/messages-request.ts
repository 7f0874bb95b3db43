import { z } from 'zod';
import { InvalidRequestError } from '../../../errors/catalogue.js';
import type { JsonObject } from '../../../providers/provider.js';

/**
 * The body of `POST /v1/messages` (and of `/v1/messages/count_tokens`), as Anthropic's Messages API
 * takes it. Objects are loose: fields not named here (cache_control, citations, service_tier, beta
 * features) pass validation untouched, since an Anthropic target receives the caller's body as it is.
 */
export interface MessagesRequest extends MessagesRequestFields {
  max_tokens: number;
}

/** A count_tokens body: a Messages body whose `max_tokens` may be left out. */
export interface CountTokensRequest extends MessagesRequestFields {
  max_tokens?: number;
}

/** What the two bodies share. */
export interface MessagesRequestFields {
  model: string;
  messages: MessagesInputMessage[];
  system?: string | MessagesTextBlock[];
  tools?: MessagesTool[];
  tool_choice?: MessagesToolChoice;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  metadata?: { user_id?: string | null };
  thinking?: MessagesThinking;
  stream?: boolean;
  [field: string]: unknown;
}

export interface MessagesInputMessage {
  role: 'user' | 'assistant';
  content: string | MessagesContentBlock[];
}

export interface MessagesTextBlock {
  type: 'text';
  text: string;
  [field: string]: unknown;
}

export type MessagesImageSource = { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };

export interface MessagesImageBlock {
  type: 'image';
  source: MessagesImageSource;
  [field: string]: unknown;
}

export interface MessagesToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
  [field: string]: unknown;
}

export interface MessagesToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | Array<MessagesTextBlock | MessagesImageBlock | MessagesOtherBlock>;
  is_error?: boolean;
  [field: string]: unknown;
}

export interface MessagesThinkingBlock {
  type: 'thinking';
  thinking: string;
  signature: string;
  [field: string]: unknown;
}

export interface MessagesRedactedThinkingBlock {
  type: 'redacted_thinking';
  data: string;
  [field: string]: unknown;
}

/**
 * A document: a PDF (`base64` or `url`), plain text (`text`) or a list of text blocks (`content`).
 */
export interface MessagesDocumentBlock {
  type: 'document';
  source:
    | { type: 'base64'; media_type: string; data: string }
    | { type: 'text'; media_type: string; data: string }
    | { type: 'url'; url: string }
    | { type: 'content'; content: string | Array<MessagesTextBlock | MessagesImageBlock> };
  title?: string | null;
  context?: string | null;
  [field: string]: unknown;
}

/** A block kind not listed here (server tool use and results, search results, newer kinds). */
export interface MessagesOtherBlock {
  type: string;
  [field: string]: unknown;
}

export type MessagesContentBlock =
  | MessagesTextBlock
  | MessagesImageBlock
  | MessagesToolUseBlock
  | MessagesToolResultBlock
  | MessagesThinkingBlock
  | MessagesRedactedThinkingBlock
  | MessagesDocumentBlock;

/** A tool the caller runs (`type` absent or `custom`), or one of Anthropic's own typed tools. */
export interface MessagesTool {
  type?: string;
  name: string;
  description?: string;
  input_schema?: JsonObject;
  [field: string]: unknown;
}

export type MessagesToolChoice =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

/** `adaptive` lets newer models decide how much to think (Claude Code sends it for them). */
export type MessagesThinking = { type: 'enabled'; budget_tokens: number } | { type: 'disabled' } | { type: 'adaptive' };

const text = z.looseObject({ type: z.literal('text'), text: z.string() });
const imageSource = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
  z.looseObject({ type: z.literal('url'), url: z.string() }),
]);
const image = z.looseObject({ type: z.literal('image'), source: imageSource });
const toolResultContentSchema = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);

/** Known block kinds, each validated on its own; other kinds pass with only their `type` checked. */
const BLOCKS: Record<string, z.ZodType> = {
  text,
  image,
  tool_use: z.looseObject({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.record(z.string(), z.unknown()) }),
  tool_result: z.looseObject({
    type: z.literal('tool_result'),
    tool_use_id: z.string(),
    content: toolResultContentSchema.optional(),
    is_error: z.boolean().optional(),
  }),
  thinking: z.looseObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string() }),
  redacted_thinking: z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() }),
  document: z.looseObject({
    type: z.literal('document'),
    source: z.discriminatedUnion('type', [
      z.looseObject({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
      z.looseObject({ type: z.literal('text'), media_type: z.string(), data: z.string() }),
      z.looseObject({ type: z.literal('url'), url: z.string() }),
      z.looseObject({ type: z.literal('content'), content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]) }),
    ]),
  }),
};

const block = z.looseObject({ type: z.string() }).superRefine((value, context) => {
  const schema = BLOCKS[value.type];
  if (!schema) return;
  const result = schema.safeParse(value);
  if (result.success) return;
  for (const issue of result.error.issues) {
    const { path, message } = describe(issue, [], value);
    context.addIssue({ code: 'custom', path, message });
  }
});

const tool = z.looseObject({ type: z.string().optional(), name: z.string() }).superRefine((value, context) => {
  if (value.type !== undefined && value.type !== 'custom') return;
  const schema = value.input_schema;
  if (schema === undefined) context.addIssue({ code: 'custom', path: ['input_schema'], message: 'Field required' });
  else if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
    context.addIssue({ code: 'custom', path: ['input_schema'], message: 'Input should be a valid dictionary' });
  }
});

const toolChoice = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('tool'), name: z.string(), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('none') }),
]);

const thinking = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('enabled'), budget_tokens: z.number().int().min(1024) }),
  z.looseObject({ type: z.literal('disabled') }),
  z.looseObject({ type: z.literal('adaptive') }),
]);

const fields = {
  model: z.string(),
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(block)]) })).min(1),
  system: z.union([z.string(), z.array(text)]).optional(),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
  thinking: thinking.optional(),
  stream: z.boolean().optional(),
};

const messagesSchema = z.looseObject({ ...fields, max_tokens: z.number().int().min(1) });
const countTokensSchema = z.looseObject({ ...fields, max_tokens: z.number().int().min(1).optional() });

/**
 * Validates a Messages API body. The first problem found is thrown as an InvalidRequestError whose
 * message reads as Anthropic's does (`max_tokens: Field required`, `messages.0.role: Input should
 * be 'user' or 'assistant'`), with the dotted path as `param`.
 */
export function parseMessagesRequest(body: unknown): MessagesRequest {
  return validate(messagesSchema, body) as MessagesRequest;
}

/** Validates a `/v1/messages/count_tokens` body: as `parseMessagesRequest`, `max_tokens` optional. */
export function parseCountTokensRequest(body: unknown): CountTokensRequest {
  return validate(countTokensSchema, body) as CountTokensRequest;
}

function validate(schema: z.ZodType, body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InvalidRequestError('Input should be a valid dictionary', null);
  const result = schema.safeParse(body);
  if (result.success) return body;
  const { path, message } = describe(result.error.issues[0], [], body);
  const param = path.map(String).join('.');
  throw new InvalidRequestError(param === '' ? message : `${param}: ${message}`, param === '' ? null : param);
}

/**
 * The path and Anthropic's (pydantic's) wording for a zod issue. A union that failed in every
 * branch is described by the branch that got furthest: `content: [{type: 'text'}]` fails as a
 * string at the root and as a list at `0.text`, and the caller wants to hear about `0.text`.
 */
function describe(issue: z.core.$ZodIssue, base: readonly PropertyKey[], root: unknown): { path: PropertyKey[]; message: string } {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const deeper = issue.errors.map((branch) => branch[0]).find((first) => first && (first.path.length > 0 || first.code !== 'invalid_type'));
    if (deeper) return describe(deeper, path, root);
    const expected = issue.errors.map((branch) => branch[0]).filter((first) => first?.code === 'invalid_type') as z.core.$ZodIssueInvalidType[];
    if (valueAt(root, path) === undefined) return { path, message: 'Field required' };
    return { path, message: `Input should be ${expected.map((first) => TYPE_NAMES[first.expected] ?? `a valid ${first.expected}`).join(' or ')}` };
  }
  if (issue.code === 'custom') return { path, message: issue.message };
  return { path, message: issueMessage(issue, valueAt(root, path)) };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (!value || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a valid string',
  number: 'a valid number',
  int: 'a valid integer',
  boolean: 'a valid boolean',
  array: 'a valid list',
  object: 'a valid dictionary',
  record: 'a valid dictionary',
  null: 'None',
};

/** Anthropic's wording for one issue; `value` is what the caller sent at its path. */
function issueMessage(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return 'Field required';
      return `Input should be ${TYPE_NAMES[issue.expected] ?? `a valid ${issue.expected}`}`;
    case 'too_small':
      if (issue.origin === 'array') return `List should have at least ${String(issue.minimum)} item${Number(issue.minimum) === 1 ? '' : 's'} after validation`;
      return `Input should be greater than ${issue.inclusive ? 'or equal to ' : ''}${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'array') return `List should have at most ${String(issue.maximum)} items after validation`;
      return `Input should be less than ${issue.inclusive ? 'or equal to ' : ''}${String(issue.maximum)}`;
    case 'invalid_value':
      return `Input should be ${issue.values.map((v) => `'${String(v)}'`).join(' or ')}`;
    case 'invalid_union': {
      if (value === undefined) return 'Field required';
      const options = (issue as { options?: unknown[] }).options;
      if (Array.isArray(options)) {
        return `Input tag '${String(value)}' found using 'type' does not match any of the expected tags: ${options.map((o) => `'${String(o)}'`).join(', ')}`;
      }
      return 'Input does not match any of the accepted shapes';
    }
    default:
      return issue.message;
  }
}

/** Thinking budgets below this read as `low` effort, below HIGH_EFFORT_BUDGET as `medium`, else `high`. */
const MEDIUM_EFFORT_BUDGET = 4096;
const HIGH_EFFORT_BUDGET = 16_384;

/** Blocks the model produced by running Anthropic's own tools; no other target can replay them. */
const MODEL_ONLY_BLOCK = /^(thinking|redacted_thinking|server_tool_use|.*_tool_result)$/;

/**
 * Translates a validated Messages body into Cerulean's internal chat body (OpenAI chat completions
 * with Cerulean's `thinking` and `top_k` extensions), for targets that are not Anthropic.
 *
 * - `system` becomes a leading system message; each user turn's `tool_result` blocks become `tool`
 *   messages placed before the rest of that turn (the order chat expects after tool calls), and an
 *   image inside a tool result moves into that rest, since chat's tool messages hold only text.
 *   A result flagged `is_error` has its text prefixed with `Error: `, which is how the model learns
 *   the call failed where chat has no flag for it.
 * - Thinking, redacted thinking and server-tool blocks in assistant turns are dropped: their
 *   signatures only mean something to Anthropic. Tools with a `type` of Anthropic's own
 *   (web_search_…, bash_…, text_editor_…) are dropped too: only Anthropic runs or knows them, and
 *   refusing the request would break every client that always declares them (Claude Code does).
 * - `thinking` is copied and `reasoning_effort` derived from its budget; `adaptive` thinking
 *   leaves the effort to the target's default.
 */
export function messagesToChat(request: MessagesRequest | CountTokensRequest): JsonObject {
  const messages: JsonObject[] = [];
  const system = systemText(request.system);
  if (system !== '') messages.push({ role: 'system', content: system });
  request.messages.forEach((message, i) => {
    if (message.role === 'user') messages.push(...userMessages(message.content, `messages.${i}.content`));
    else messages.push(...assistantMessages(message.content, `messages.${i}.content`));
  });

  const chat: JsonObject = { model: request.model, messages };
  if (request.max_tokens !== undefined) chat.max_tokens = request.max_tokens;
  const tools = (request.tools ?? []).filter((tool) => tool.type === undefined || tool.type === 'custom').map(chatTool);
  if (tools.length > 0) {
    chat.tools = tools;
    Object.assign(chat, toolChoiceOf(request.tool_choice));
  } else if (request.tool_choice?.type === 'none') chat.tool_choice = 'none';
  if (request.stop_sequences && request.stop_sequences.length > 0) chat.stop = request.stop_sequences;
  if (request.temperature !== undefined) chat.temperature = request.temperature;
  if (request.top_p !== undefined) chat.top_p = request.top_p;
  if (request.top_k !== undefined) chat.top_k = request.top_k;
  const user = request.metadata?.user_id;
  if (typeof user === 'string' && user !== '') chat.user = user;
  if (request.thinking) {
    chat.thinking = request.thinking;
    if (request.thinking.type === 'enabled') chat.reasoning_effort = effortOf(request.thinking.budget_tokens);
  }
  if (request.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  } else if (request.stream === false) chat.stream = false;
  return chat;
}

function effortOf(budget: number): 'low' | 'medium' | 'high' {
  if (budget < MEDIUM_EFFORT_BUDGET) return 'low';
  return budget < HIGH_EFFORT_BUDGET ? 'medium' : 'high';
}

/** The system prompt's text: the string, or its text blocks joined by blank lines. */
export function systemText(system: MessagesRequest['system']): string {
  if (system === undefined) return '';
  if (typeof system === 'string') return system;
  return system.map((block) => block.text).join('\n\n');
}

function userMessages(content: MessagesInputMessage['content'], param: string): JsonObject[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const results: JsonObject[] = [];
  const parts: JsonObject[] = [];
  content.forEach((block, i) => {
    const at = `${param}.${i}`;
    switch (block.type) {
      case 'tool_result': {
        const result = block as MessagesToolResultBlock;
        const { text, images } = toolResultContent(result.content, at);
        results.push({ role: 'tool', tool_call_id: result.tool_use_id, content: result.is_error === true ? `Error: ${text}` : text });
        parts.push(...images);
        break;
      }
      default:
        parts.push(...userParts(block, at));
    }
  });
  if (parts.length === 0) return results;
  // One text part reads as plain content, which every chat backend takes.
  const only = parts.length === 1 && parts[0].type === 'text' ? (parts[0].text as string) : undefined;
  return [...results, { role: 'user', content: only ?? parts }];
}

/** Chat content parts for one block of a user turn. */
function userParts(block: MessagesContentBlock | MessagesOtherBlock, param: string): JsonObject[] {
  switch (block.type) {
    case 'text':
      return [{ type: 'text', text: (block as MessagesTextBlock).text }];
    case 'image':
      return [imagePart(block as MessagesImageBlock)];
    case 'document':
      return documentParts(block as MessagesDocumentBlock, param);
    case 'thinking':
    case 'redacted_thinking':
      return [];
    default:
      throw new InvalidRequestError(`${param}.type: Content blocks of type '${block.type}' can only be sent to Anthropic deployments`, `${param}.type`);
  }
}

function imagePart(block: MessagesImageBlock): JsonObject {
  const { source } = block;
  const url = source.type === 'base64' ? `data:${source.media_type};base64,${source.data}` : source.url;
  return { type: 'image_url', image_url: { url } };
}

/**
 * A document as chat can carry it: text (plain or a list of text blocks) as a text part, titled
 * when it has a title; a base64 PDF as chat's inline `file` part. A PDF by URL has no chat form.
 */
function documentParts(block: MessagesDocumentBlock, param: string): JsonObject[] {
  const { source } = block;
  const heading = typeof block.title === 'string' && block.title !== '' ? `${block.title}\n\n` : '';
  switch (source.type) {
    case 'text':
      return [{ type: 'text', text: heading + source.data }];
    case 'content': {
      const content =
        typeof source.content === 'string' ? source.content : source.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
      return [{ type: 'text', text: heading + content }];
    }
    case 'base64': {
      const file: JsonObject = { file_data: `data:${source.media_type};base64,${source.data}` };
      if (typeof block.title === 'string' && block.title !== '') file.filename = block.title;
      return [{ type: 'file', file }];
    }
    default:
      throw new InvalidRequestError(
        `${param}.source: Documents by URL can only be sent to Anthropic deployments; send the document as base64 or text`,
        `${param}.source`,
      );
  }
}

function toolResultContent(content: MessagesToolResultBlock['content'], param: string): { text: string; images: JsonObject[] } {
  if (content === undefined) return { text: '', images: [] };
  if (typeof content === 'string') return { text: content, images: [] };
  const texts: string[] = [];
  const images: JsonObject[] = [];
  content.forEach((block, i) => {
    if (block.type === 'text') texts.push((block as MessagesTextBlock).text);
    else if (block.type === 'image') images.push(imagePart(block as MessagesImageBlock));
    else if (block.type === 'document') {
      for (const part of documentParts(block as unknown as MessagesDocumentBlock, `${param}.content.${i}`)) {
        if (part.type === 'text') texts.push(part.text as string);
        else images.push(part);
      }
    } else
      throw new InvalidRequestError(
        `${param}.content.${i}.type: Content blocks of type '${block.type}' can only be sent to Anthropic deployments`,
        `${param}.content.${i}.type`,
      );
  });
  return { text: texts.join('\n'), images };
}

function assistantMessages(content: MessagesInputMessage['content'], param: string): JsonObject[] {
  if (typeof content === 'string') return [{ role: 'assistant', content }];
  let text: string | null = null;
  const toolCalls: JsonObject[] = [];
  content.forEach((block, i) => {
    if (block.type === 'text') text = (text ?? '') + (block as MessagesTextBlock).text;
    else if (block.type === 'tool_use') {
      const use = block as MessagesToolUseBlock;
      toolCalls.push({ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input) } });
    } else if (!MODEL_ONLY_BLOCK.test(block.type)) {
      throw new InvalidRequestError(
        `${param}.${i}.type: Assistant content blocks of type '${block.type}' can only be sent to Anthropic deployments`,
        `${param}.${i}.type`,
      );
    }
  });
  if (text === null && toolCalls.length === 0) return [];
  const message: JsonObject = { role: 'assistant', content: text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return [message];
}

function chatTool(tool: MessagesTool): JsonObject {
  const fn: JsonObject = { name: tool.name };
  if (typeof tool.description === 'string') fn.description = tool.description;
  fn.parameters = tool.input_schema ?? { type: 'object', properties: {} };
  return { type: 'function', function: fn };
}

function toolChoiceOf(choice: MessagesToolChoice | undefined): JsonObject {
  if (!choice) return {};
  const out: JsonObject = {};
  switch (choice.type) {
    case 'auto':
      out.tool_choice = 'auto';
      break;
    case 'any':
      out.tool_choice = 'required';
      break;
    case 'tool':
      out.tool_choice = { type: 'function', function: { name: choice.name } };
      break;
    case 'none':
      return { tool_choice: 'none' };
  }
  if (choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  return out;
}
