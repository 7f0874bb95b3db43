import { InvalidRequestError } from '../../errors/catalogue.js';
import type { JsonObject, Target } from '../provider.js';
import type {
  AnthropicContentBlock,
  AnthropicDocumentBlock,
  AnthropicImageBlock,
  AnthropicMessage,
  AnthropicRequest,
  AnthropicTextBlock,
  AnthropicThinkingConfig,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicToolResultBlock,
  AnthropicToolUseBlock,
} from './anthropic-wire.js';

/** Anthropic requires `max_tokens`; used when neither the caller nor the deployment sets one. */
export const DEFAULT_MAX_TOKENS = 4096;

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/**
 * Translates an OpenAI chat completions body into an Anthropic Messages body.
 *
 * Fields Anthropic has no counterpart for and that only tune sampling or bookkeeping
 * (`presence_penalty`, `frequency_penalty`, `seed`, `logit_bias`, `store`, `metadata`,
 * `stream_options`, ...) are dropped: Anthropic rejects unknown fields, and clients send many of
 * them with neutral defaults. Fields whose absence would change what the caller gets back (`n > 1`,
 * `logprobs`, legacy `functions`) are refused with a 400 instead. `temperature` passes as it is:
 * OpenAI allows 0..2, Anthropic 0..1, and Anthropic's own 400 explains the difference better than
 * a silent clamp would.
 */
export function toAnthropicRequest(body: JsonObject, target: Target, stream: boolean): AnthropicRequest {
  refuseUnsupported(body);

  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const append = (role: AnthropicMessage['role'], blocks: AnthropicContentBlock[]): void => {
    if (blocks.length === 0) return;
    // Anthropic wants user and assistant turns to alternate; OpenAI allows runs of one role and
    // sends tool results as separate messages, so a run becomes one turn.
    const last = messages.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };

  const input = body.messages;
  if (!Array.isArray(input)) throw new InvalidRequestError('messages must be an array.', 'messages');
  input.forEach((value, i) => {
    const param = `messages[${i}]`;
    const message = asObject(value, param);
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOf(message.content, `${param}.content`));
        break;
      case 'user':
        append('user', userBlocks(message.content, `${param}.content`));
        break;
      case 'assistant':
        append('assistant', assistantBlocks(message, param));
        break;
      case 'tool':
        append('user', [toolResultBlock(message, param)]);
        break;
      default:
        throw new InvalidRequestError(`Role "${String(message.role)}" is not supported by Anthropic deployments.`, `${param}.role`);
    }
  });
  for (const message of messages) if (message.role === 'user') toolResultsFirst(message);

  const instruction = jsonInstruction(body.response_format);
  if (instruction) system.push(instruction);

  const request: AnthropicRequest = { model: target.model, messages, max_tokens: maxTokens(body, target) };
  const systemText = system.filter((text) => text !== '').join('\n\n');
  if (systemText) request.system = systemText;
  if (typeof body.temperature === 'number') request.temperature = body.temperature;
  if (typeof body.top_p === 'number') request.top_p = body.top_p;
  if (typeof body.top_k === 'number') request.top_k = body.top_k;
  const thinking = thinkingOf(body.thinking);
  if (thinking) request.thinking = thinking;
  const stop = stopSequences(body.stop);
  if (stop) request.stop_sequences = stop;
  if (typeof body.user === 'string' && body.user !== '') request.metadata = { user_id: body.user };
  const tools = toolsOf(body.tools);
  if (tools) {
    request.tools = tools;
    const choice = toolChoiceOf(body.tool_choice, body.parallel_tool_calls === false);
    if (choice) request.tool_choice = choice;
  }
  if (stream) request.stream = true;
  return request;
}

function refuseUnsupported(body: JsonObject): void {
  if (typeof body.n === 'number' && body.n > 1) {
    throw new InvalidRequestError('Anthropic deployments return one choice per request; n > 1 is not supported.', 'n');
  }
  if (body.logprobs === true || (body.top_logprobs !== undefined && body.top_logprobs !== null)) {
    throw new InvalidRequestError('Anthropic deployments do not return log probabilities; logprobs is not supported.', 'logprobs');
  }
  if (body.functions !== undefined || body.function_call !== undefined) {
    throw new InvalidRequestError('The legacy functions parameter is not supported by Anthropic deployments; send tools instead.', 'functions');
  }
}

function maxTokens(body: JsonObject, target: Target): number {
  for (const param of ['max_completion_tokens', 'max_tokens'] as const) {
    const value = body[param];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number') throw new InvalidRequestError(`${param} must be an integer.`, param);
    return value;
  }
  return target.config.default_max_tokens ?? DEFAULT_MAX_TOKENS;
}

/**
 * Cerulean's `thinking` extension (set by the Messages API's translation) passes as Anthropic takes
 * it; anything else under that name is refused rather than sent on to fail upstream.
 */
function thinkingOf(value: unknown): AnthropicThinkingConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const thinking = value as { type?: unknown; budget_tokens?: unknown };
  if (thinking.type === 'disabled' || thinking.type === 'adaptive') return { type: thinking.type };
  if (thinking.type === 'enabled' && typeof thinking.budget_tokens === 'number') return { type: 'enabled', budget_tokens: thinking.budget_tokens };
  throw new InvalidRequestError('thinking must be {"type": "enabled", "budget_tokens": N}, {"type": "adaptive"} or {"type": "disabled"}.', 'thinking');
}

function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop) && stop.length > 0) {
    if (!stop.every((s) => typeof s === 'string')) throw new InvalidRequestError('stop must be a string or an array of strings.', 'stop');
    return stop as string[];
  }
  return undefined;
}

/**
 * Anthropic has no JSON mode flag, so `response_format` becomes an instruction appended to the
 * system prompt (with the schema, for `json_schema`). This steers the model but, unlike OpenAI's
 * structured outputs, does not guarantee valid or schema-conforming JSON.
 */
function jsonInstruction(format: unknown): string | undefined {
  if (!format || typeof format !== 'object') return undefined;
  const { type, json_schema: jsonSchema } = format as { type?: unknown; json_schema?: { schema?: unknown } };
  const base = 'Answer with a single valid JSON value and nothing else: no prose before or after it and no Markdown code fences.';
  if (type === 'json_object') return `${base} The value must be a JSON object.`;
  if (type === 'json_schema') {
    const schema = jsonSchema?.schema;
    if (schema === undefined) return base;
    return `${base} It must conform to this JSON Schema:\n${JSON.stringify(schema)}`;
  }
  return undefined;
}

function toolsOf(value: unknown): AnthropicTool[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new InvalidRequestError('tools must be an array.', 'tools');
  if (value.length === 0) return undefined;
  return value.map((entry, i) => {
    const tool = asObject(entry, `tools[${i}]`);
    const fn = tool.function as { name?: unknown; description?: unknown; parameters?: unknown } | undefined;
    if (tool.type !== 'function' || !fn || typeof fn.name !== 'string') {
      throw new InvalidRequestError('Only tools of type "function" with a name are supported by Anthropic deployments.', `tools[${i}]`);
    }
    const result: AnthropicTool = {
      name: fn.name,
      // Anthropic requires a schema; OpenAI allows a function without parameters.
      input_schema: fn.parameters && typeof fn.parameters === 'object' ? (fn.parameters as Record<string, unknown>) : { type: 'object', properties: {} },
    };
    if (typeof fn.description === 'string') result.description = fn.description;
    return result;
  });
}

function toolChoiceOf(value: unknown, serial: boolean): AnthropicToolChoice | undefined {
  let choice: AnthropicToolChoice | undefined;
  if (value === undefined || value === null) choice = serial ? { type: 'auto' } : undefined;
  else if (value === 'auto') choice = { type: 'auto' };
  else if (value === 'required') choice = { type: 'any' };
  else if (value === 'none') return { type: 'none' };
  else {
    const named = typeof value === 'object' ? (value as { type?: unknown; function?: { name?: unknown } }) : undefined;
    const name = named?.type === 'function' ? named.function?.name : undefined;
    if (typeof name !== 'string') {
      throw new InvalidRequestError('tool_choice must be "none", "auto", "required" or a function to call.', 'tool_choice');
    }
    choice = { type: 'tool', name };
  }
  if (choice && serial) choice.disable_parallel_tool_use = true;
  return choice;
}

/** The text of a system, developer or tool message: a string or an array of text parts. */
function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new InvalidRequestError('content must be a string or an array of content parts.', param);
  return content
    .map((part, i) => {
      const { type, text } = asObject(part, `${param}[${i}]`);
      if (type !== 'text' || typeof text !== 'string') throw new InvalidRequestError('Only text content parts are accepted here.', `${param}[${i}]`);
      return text;
    })
    .join('\n');
}

function userBlocks(content: unknown, param: string): AnthropicContentBlock[] {
  if (typeof content === 'string') return textBlocks(content);
  if (!Array.isArray(content)) throw new InvalidRequestError('content must be a string or an array of content parts.', param);
  return content.flatMap((value, i): AnthropicContentBlock[] => {
    const part = asObject(value, `${param}[${i}]`);
    switch (part.type) {
      case 'text':
        if (typeof part.text !== 'string') throw new InvalidRequestError('A text part needs a text string.', `${param}[${i}].text`);
        return textBlocks(part.text);
      case 'image_url':
        return [imageBlock(part.image_url, `${param}[${i}].image_url`)];
      case 'file':
        return [documentBlock(part.file, `${param}[${i}].file`)];
      default:
        throw new InvalidRequestError(`Content parts of type "${String(part.type)}" are not supported by Anthropic deployments.`, `${param}[${i}].type`);
    }
  });
}

/** Anthropic rejects empty text blocks; OpenAI callers send `""` freely (e.g. beside tool calls). */
function textBlocks(text: string): AnthropicTextBlock[] {
  return text === '' ? [] : [{ type: 'text', text }];
}

function imageBlock(value: unknown, param: string): AnthropicImageBlock {
  const url = typeof value === 'string' ? value : (value as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') throw new InvalidRequestError('image_url needs a url.', param);
  const data = DATA_URL.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new InvalidRequestError('image_url must be an http(s) URL or a base64 data URL.', param);
}

/** OpenAI's inline `file` parts (e.g. a PDF) become Anthropic document blocks; uploaded file ids have no counterpart. */
function documentBlock(value: unknown, param: string): AnthropicDocumentBlock {
  const file = (value ?? {}) as { file_data?: unknown; filename?: unknown };
  const data = typeof file.file_data === 'string' ? DATA_URL.exec(file.file_data) : null;
  if (!data) throw new InvalidRequestError('Anthropic deployments accept files only as base64 data URLs in file_data.', param);
  const block: AnthropicDocumentBlock = { type: 'document', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (typeof file.filename === 'string') block.title = file.filename;
  return block;
}

function assistantBlocks(message: JsonObject, param: string): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = [];
  // Thinking the model did in this turn goes back first, as Anthropic requires when a tool result
  // follows; without its signature Anthropic would refuse the block, so it is then left out.
  const { content, reasoning_content: reasoning, reasoning_signature: signature } = message;
  if (typeof reasoning === 'string' && typeof signature === 'string' && signature !== '') blocks.push({ type: 'thinking', thinking: reasoning, signature });
  if (typeof content === 'string') blocks.push(...textBlocks(content));
  else if (Array.isArray(content)) {
    content.forEach((value, i) => {
      const part = asObject(value, `${param}.content[${i}]`);
      // A refusal the model gave earlier is part of the conversation like any other text.
      const text = part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : undefined;
      if (typeof text !== 'string') throw new InvalidRequestError('Assistant content parts must be text or refusal.', `${param}.content[${i}]`);
      blocks.push(...textBlocks(text));
    });
  } else if (content !== undefined && content !== null) {
    throw new InvalidRequestError('content must be a string, an array of content parts or null.', `${param}.content`);
  }
  const calls = message.tool_calls;
  if (Array.isArray(calls)) calls.forEach((call, i) => blocks.push(toolUseBlock(call, `${param}.tool_calls[${i}]`)));
  return blocks;
}

function toolUseBlock(value: unknown, param: string): AnthropicToolUseBlock {
  const call = asObject(value, param);
  const fn = call.function as { name?: unknown; arguments?: unknown } | undefined;
  if (typeof call.id !== 'string' || typeof fn?.name !== 'string') throw new InvalidRequestError('A tool call needs an id and a function name.', param);
  const args = typeof fn.arguments === 'string' && fn.arguments.trim() !== '' ? fn.arguments : '{}';
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    throw new InvalidRequestError('Tool call arguments must be a JSON object.', `${param}.function.arguments`);
  }
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidRequestError('Tool call arguments must be a JSON object.', `${param}.function.arguments`);
  }
  return { type: 'tool_use', id: call.id, name: fn.name, input: input as Record<string, unknown> };
}

function toolResultBlock(message: JsonObject, param: string): AnthropicToolResultBlock {
  if (typeof message.tool_call_id !== 'string') throw new InvalidRequestError('A tool message needs a tool_call_id.', `${param}.tool_call_id`);
  return { type: 'tool_result', tool_use_id: message.tool_call_id, content: textOf(message.content, `${param}.content`) };
}

/** Anthropic requires a user turn's tool results to come before anything else in it. */
function toolResultsFirst(message: AnthropicMessage): void {
  const results = message.content.filter((block) => block.type === 'tool_result');
  if (results.length === 0 || results.length === message.content.length) return;
  message.content = [...results, ...message.content.filter((block) => block.type !== 'tool_result')];
}

function asObject(value: unknown, param: string): JsonObject {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new InvalidRequestError(`${param} must be an object.`, param);
  return value as JsonObject;
}
