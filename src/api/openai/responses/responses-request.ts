import { randomHex } from '../../../observability/trace-context.js';
import { z } from 'zod';
import { InvalidRequestError } from '../../../errors/catalogue.js';
import type { JsonObject } from '../../../providers/provider.js';

/**
 * The request side of POST /v1/responses: validation in OpenAI's words, the input normalised to
 * the items OpenAI lists under GET /v1/responses/{id}/input_items, and the translation to
 * Cerulean's internal chat schema that every provider takes. Pure: no storage, no I/O; a caller
 * that continues a stored response passes its items as `history`.
 */

/** One item of a response's input or output, in the Responses API's shape (`type` always set once normalised). */
export type ResponseItem = JsonObject & { type: string; id?: string };

/** `prefix` + 48 hex characters, the form of OpenAI's ids (`resp_`, `msg_`, `fc_`, `rs_`). */
export function newId(prefix: string): string {
  return prefix + randomHex(24);
}

const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

const inputText = z.looseObject({ type: z.literal('input_text'), text: z.string() });
const inputImage = z.looseObject({
  type: z.literal('input_image'),
  image_url: nullable(z.string()),
  file_id: nullable(z.string()),
  detail: nullable(z.enum(['low', 'high', 'auto', 'original'])),
});
const inputFile = z.looseObject({
  type: z.literal('input_file'),
  file_id: nullable(z.string()),
  file_data: nullable(z.string()),
  file_url: nullable(z.string()),
  filename: nullable(z.string()),
});
const outputText = z.looseObject({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()).optional() });
const refusal = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });

const CONTENT_PARTS: Record<string, z.ZodType> = {
  input_text: inputText,
  input_image: inputImage,
  input_file: inputFile,
  output_text: outputText,
  refusal,
};

const messageItem = z.looseObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]),
  id: z.string().optional(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});
const functionCallItem = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string(),
  name: z.string(),
  arguments: z.string(),
  id: z.string().optional(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});
const functionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string(),
  output: z.union([z.string(), z.array(inputText)]),
  id: nullable(z.string()),
  status: nullable(z.enum(['in_progress', 'completed', 'incomplete'])),
});
const itemReference = z.looseObject({ type: z.literal('item_reference'), id: z.string() });
const reasoningItem = z.looseObject({
  type: z.literal('reasoning'),
  id: z.string().optional(),
  summary: z.array(z.looseObject({ type: z.string(), text: z.string() })),
});

const ITEMS: Record<string, z.ZodType> = {
  message: messageItem,
  function_call: functionCallItem,
  function_call_output: functionCallOutputItem,
  item_reference: itemReference,
  reasoning: reasoningItem,
};

const functionTool = z.looseObject({
  type: z.literal('function'),
  name: z.string().min(1),
  description: nullable(z.string()),
  parameters: nullable(z.record(z.string(), z.unknown())),
  strict: nullable(z.boolean()),
});

const textFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()),
    strict: nullable(z.boolean()),
    description: z.string().optional(),
  }),
]);

const metadata = z
  .record(z.string().max(64, 'keys must be at most 64 characters'), z.string().max(512, 'values must be at most 512 characters'))
  .refine((value) => Object.keys(value).length <= 16, 'must have at most 16 pairs');

const requestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.looseObject({ type: z.string().optional() }))]).optional(),
  instructions: nullable(z.string()),
  tools: nullable(z.array(z.looseObject({ type: z.string() }))),
  tool_choice: nullable(z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.literal('function'), name: z.string() })])),
  parallel_tool_calls: nullable(z.boolean()),
  text: nullable(z.looseObject({ format: textFormat.optional(), verbosity: nullable(z.enum(['low', 'medium', 'high'])) })),
  max_output_tokens: nullable(z.number().int().min(16)),
  max_tool_calls: nullable(z.number().int().positive()),
  temperature: nullable(z.number().min(0).max(2)),
  top_p: nullable(z.number().min(0).max(1)),
  top_logprobs: nullable(z.number().int().min(0).max(20)),
  reasoning: nullable(
    z.looseObject({
      effort: nullable(z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh'])),
      summary: nullable(z.enum(['auto', 'concise', 'detailed'])),
    }),
  ),
  metadata: nullable(metadata),
  user: z.string().optional(),
  store: nullable(z.boolean()).transform((value) => value ?? true),
  previous_response_id: nullable(z.string().min(1)),
  include: nullable(z.array(z.string())),
  truncation: nullable(z.enum(['auto', 'disabled'])),
  stream: nullable(z.boolean()),
  stream_options: nullable(z.looseObject({ include_obfuscation: z.boolean().optional() })),
  background: nullable(z.boolean()),
  service_tier: nullable(z.enum(['auto', 'default', 'flex', 'scale', 'priority'])),
  prompt_cache_key: nullable(z.string()),
  prompt_cache_retention: nullable(z.enum(['in_memory', '24h'])),
  safety_identifier: nullable(z.string()),
});

/** A validated POST /v1/responses body. Fields the schema does not name are kept as they came. */
export type ResponsesRequest = z.infer<typeof requestSchema>;

function paramName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'string' ? 'a string' : typeof value === 'number' ? 'a number' : typeof value === 'boolean' ? 'a boolean' : typeof value;
}

/** OpenAI's wording for the first thing wrong with a body. */
function describe(issue: z.core.$ZodIssue, param: string): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `Missing required parameter: '${param}'.`;
  if (issue.code === 'invalid_type') return `Invalid type for '${param}': expected ${issue.expected}, but got ${jsonTypeOf(issue.input)} instead.`;
  if (issue.code === 'invalid_value') return `Invalid value for '${param}': expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`;
  if (issue.code === 'too_small' && issue.origin === 'number') {
    return `Invalid '${param}': integer below minimum value. Expected a value >= ${String(issue.minimum)}, but got ${String(issue.input)} instead.`;
  }
  if (issue.code === 'too_big' && issue.origin === 'number') {
    return `Invalid '${param}': number above maximum value. Expected a value <= ${String(issue.maximum)}, but got ${String(issue.input)} instead.`;
  }
  if (issue.code === 'invalid_union') {
    // A discriminated union names the field it read and the values it knows.
    const options = 'options' in issue && Array.isArray(issue.options) ? (issue.options as unknown[]) : null;
    if (options) return `Invalid value for '${param}': expected one of ${options.map((v) => JSON.stringify(v)).join(', ')}.`;
    return `Invalid type for '${param}'.`;
  }
  return `Invalid value for '${param}': ${issue.message}.`;
}

/** Parses `value` with `schema`, throwing OpenAI's 400 for the first issue, its param prefixed with `at`. */
function check<T>(schema: z.ZodType<T>, value: unknown, at: readonly PropertyKey[]): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = paramName([...at, ...issue.path]);
  throw new InvalidRequestError(describe(issue, param), param || null);
}

function unsupported(kind: string, type: string, param: string, supported: string): never {
  throw new InvalidRequestError(`The ${kind} type '${type}' is not supported; Cerulean's Responses API accepts ${supported}.`, param, 'unsupported_parameter');
}

/** Checks one input (or history) item by its type; a message may omit `type`. */
function checkItem(item: JsonObject, at: readonly PropertyKey[]): void {
  const type = typeof item.type === 'string' ? item.type : 'message';
  const schema = ITEMS[type];
  if (!schema)
    unsupported('input item', type, paramName([...at, 'type']), "'message', 'function_call', 'function_call_output', 'item_reference' and 'reasoning' items");
  check(schema, item, at);
  if (type === 'message' && Array.isArray(item.content)) {
    item.content.forEach((part: JsonObject, index) => {
      const partSchema = CONTENT_PARTS[part.type as string];
      const partAt = [...at, 'content', index];
      if (!partSchema)
        unsupported(
          'content part',
          String(part.type),
          paramName([...partAt, 'type']),
          "'input_text', 'input_image', 'input_file', 'output_text' and 'refusal' parts",
        );
      check(partSchema, part, partAt);
      if (part.type === 'input_image' && typeof part.image_url !== 'string' && typeof part.file_id !== 'string') {
        throw new InvalidRequestError(`Invalid '${paramName(partAt)}': an input_image needs 'image_url' or 'file_id'.`, paramName(partAt));
      }
    });
  }
}

/**
 * Validates a POST /v1/responses body. Throws `InvalidRequestError` with OpenAI's message and
 * param for the first problem, and for tool or item types Cerulean cannot translate.
 */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be a JSON object.', null, 'invalid_body');
  }
  const request = check(requestSchema, body, []);
  if (Array.isArray(request.input)) request.input.forEach((item, index) => checkItem(item, ['input', index]));
  request.tools?.forEach((tool, index) => {
    if (tool.type !== 'function') unsupported('tool', tool.type, `tools[${index}].type`, "only 'function' tools");
    check(functionTool, tool, ['tools', index]);
  });
  if (request.input === undefined && !request.previous_response_id) throw new InvalidRequestError("Missing required parameter: 'input'.", 'input');
  return request;
}

function normaliseItem(item: JsonObject): ResponseItem {
  const type = typeof item.type === 'string' ? item.type : 'message';
  if (type === 'message') {
    const content =
      typeof item.content === 'string'
        ? [item.role === 'assistant' ? { type: 'output_text', text: item.content, annotations: [] } : { type: 'input_text', text: item.content }]
        : item.content;
    return { ...item, type, id: typeof item.id === 'string' ? item.id : newId('msg_'), role: item.role, content, status: item.status ?? 'completed' };
  }
  if (type === 'item_reference' || typeof item.id === 'string') return { ...item, type };
  const prefix = type === 'function_call' ? 'fc_' : type === 'function_call_output' ? 'fco_' : type === 'reasoning' ? 'rs_' : 'item_';
  return { ...item, type, id: newId(prefix), ...(type === 'function_call' || type === 'function_call_output' ? { status: item.status ?? 'completed' } : {}) };
}

/**
 * The request's input as OpenAI lists it in GET /v1/responses/{id}/input_items: a string becomes
 * one user message, every message has `type`, array content and a status, and every item an id.
 * Call it once per request: ids that were absent are drawn at random.
 */
export function inputItemsOf(request: ResponsesRequest): ResponseItem[] {
  const input = request.input;
  if (input === undefined) return [];
  if (typeof input === 'string') return [normaliseItem({ type: 'message', role: 'user', content: input })];
  return input.map((item) => normaliseItem(item));
}

/** The text of parts a chat message can only take as a string (assistant turns, tool results). */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content as JsonObject[]) if (typeof part.text === 'string') text += part.text;
  return text;
}

function chatPart(part: JsonObject, param: string): JsonObject {
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: part.text };
    case 'input_image': {
      if (typeof part.image_url !== 'string') {
        throw new InvalidRequestError(`Invalid '${param}': images by 'file_id' are not supported; send 'image_url' (an https or data URL).`, param);
      }
      // Chat knows no 'original' detail; 'high' is the closest it has.
      const detail = part.detail === 'original' ? 'high' : (part.detail ?? 'auto');
      return { type: 'image_url', image_url: { url: part.image_url, detail } };
    }
    case 'input_file': {
      const file: JsonObject = {};
      if (typeof part.file_id === 'string') file.file_id = part.file_id;
      if (typeof part.file_data === 'string') file.file_data = part.file_data;
      if (typeof part.filename === 'string') file.filename = part.filename;
      if (Object.keys(file).length === 0) throw new InvalidRequestError(`Invalid '${param}': an input_file needs 'file_id' or 'file_data'.`, param);
      return { type: 'file', file };
    }
    case 'refusal':
      return { type: 'text', text: part.refusal };
    default:
      throw new InvalidRequestError(`The content part type '${String(part.type)}' is not supported.`, `${param}.type`);
  }
}

function messageToChat(item: JsonObject, param: string): JsonObject {
  const role = item.role as string;
  if (role === 'assistant') {
    const message: JsonObject = { role: 'assistant', content: textOf(item.content) };
    if (Array.isArray(item.content)) {
      const refusals = (item.content as JsonObject[]).filter((part) => part.type === 'refusal').map((part) => part.refusal as string);
      if (refusals.length > 0) message.refusal = refusals.join('');
    }
    return message;
  }
  if (typeof item.content === 'string') return { role, content: item.content };
  const parts = (item.content as JsonObject[]).map((part, index) => chatPart(part, `${param}.content[${index}]`));
  return { role, content: parts };
}

const REASONING_EFFORTS: Readonly<Record<string, string | undefined>> = {
  none: undefined,
  minimal: 'minimal',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
};

/**
 * The internal chat body for a Responses request. `history` is what came before this turn (the
 * stored input and `outputAsHistory(output)` of the previous response, oldest first); instructions
 * are this request's only (OpenAI does not carry them over). `references` resolves `item_reference`
 * items by id; an unresolved one is a 400. Reasoning items are kept in storage but not sent: the
 * internal schema has no place for reasoning in earlier turns that every provider accepts.
 */
export function responsesToChat(request: ResponsesRequest, history: readonly ResponseItem[], references?: ReadonlyMap<string, ResponseItem>): JsonObject {
  const messages: JsonObject[] = [];
  if (request.instructions) messages.push({ role: 'system', content: request.instructions });

  const input: { item: JsonObject; param: string }[] = history.map((item, index) => ({ item, param: `history[${index}]` }));
  if (typeof request.input === 'string') input.push({ item: { type: 'message', role: 'user', content: request.input }, param: 'input' });
  else request.input?.forEach((item, index) => input.push({ item, param: `input[${index}]` }));

  // The assistant message that function calls join: the one they follow directly, as a chat
  // completion returns text and tool calls in one message.
  let openAssistant: JsonObject | null = null;
  for (const entry of input) {
    let item = entry.item;
    if (item.type === 'item_reference') {
      const found = references?.get(item.id as string);
      if (!found) throw new InvalidRequestError(`Item with id '${String(item.id)}' not found.`, entry.param);
      item = found;
    }
    const type = typeof item.type === 'string' ? item.type : 'message';
    if (type === 'reasoning') continue;
    if (type === 'function_call') {
      if (!openAssistant) {
        openAssistant = { role: 'assistant', content: null };
        messages.push(openAssistant);
      }
      const calls = (openAssistant.tool_calls ??= []) as JsonObject[];
      calls.push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } });
      continue;
    }
    if (type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: textOf(item.output) });
      openAssistant = null;
      continue;
    }
    if (type !== 'message') throw new InvalidRequestError(`The input item type '${type}' is not supported.`, `${entry.param}.type`);
    const message = messageToChat(item, entry.param);
    messages.push(message);
    openAssistant = message.role === 'assistant' && !message.refusal ? message : null;
  }

  const chat: JsonObject = { model: request.model, messages };
  if (request.tools?.length) {
    chat.tools = request.tools.map((tool) => {
      const fn: JsonObject = { name: tool.name };
      if (typeof tool.description === 'string') fn.description = tool.description;
      if (tool.parameters) fn.parameters = tool.parameters;
      if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
      return { type: 'function', function: fn };
    });
    // OpenAI's chat refuses parallel_tool_calls without tools, so it goes only with them.
    if (typeof request.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = request.parallel_tool_calls;
  }
  const choice = request.tool_choice;
  if (typeof choice === 'string') chat.tool_choice = choice;
  else if (choice) chat.tool_choice = { type: 'function', function: { name: choice.name } };

  const format = request.text?.format;
  if (format?.type === 'json_object') chat.response_format = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    const schema: JsonObject = { name: format.name, schema: format.schema };
    if (typeof format.strict === 'boolean') schema.strict = format.strict;
    if (typeof format.description === 'string') schema.description = format.description;
    chat.response_format = { type: 'json_schema', json_schema: schema };
  }
  if (request.text?.verbosity) chat.verbosity = request.text.verbosity;

  if (typeof request.max_output_tokens === 'number') chat.max_completion_tokens = request.max_output_tokens;
  if (typeof request.temperature === 'number') chat.temperature = request.temperature;
  if (typeof request.top_p === 'number') chat.top_p = request.top_p;
  const effort = request.reasoning?.effort ? REASONING_EFFORTS[request.reasoning.effort] : undefined;
  if (effort) chat.reasoning_effort = effort;
  if (typeof request.user === 'string') chat.user = request.user;
  if (typeof request.prompt_cache_key === 'string') chat.prompt_cache_key = request.prompt_cache_key;
  if (typeof request.safety_identifier === 'string') chat.safety_identifier = request.safety_identifier;
  if (request.stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  } else if (request.stream === false) chat.stream = false;
  return chat;
}

const HISTORY_TYPES: ReadonlySet<string> = new Set(['message', 'function_call', 'function_call_output', 'reasoning']);

/**
 * A stored response's output items as the next turn's history (previous_response_id): the items
 * the model produced, copied, so that later edits to either list do not reach the other.
 */
export function outputAsHistory(output: readonly ResponseItem[]): ResponseItem[] {
  return output.filter((item) => HISTORY_TYPES.has(item.type)).map((item) => structuredClone(item));
}
