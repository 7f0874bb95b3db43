import { InvalidRequestError } from '../../errors/catalogue.js';
import type { JsonObject } from '../provider.js';
import type { GeminiContent, GeminiFunctionDeclaration, GeminiGenerateContentRequest, GeminiGenerationConfig, GeminiPart, GeminiRole } from './gemini-wire.js';

/**
 * Translates an OpenAI chat-completions body into a Gemini `generateContent` body. The body has
 * passed its inbound operation's schema (src/api/), so only what that leaves open is checked here; fields Gemini
 * has no counterpart for (`user`, `parallel_tool_calls`, `stream_options`, ...) are dropped.
 */
export function buildGenerateContentRequest(body: JsonObject): GeminiGenerateContentRequest {
  const { contents, systemParts } = translateMessages(asArray(body.messages));
  const request: GeminiGenerateContentRequest = { contents };
  if (systemParts.length > 0) {
    // Gemini rejects a request without contents; OpenAI accepts a conversation of system messages only.
    if (contents.length === 0) contents.push({ role: 'user', parts: systemParts });
    else request.systemInstruction = { parts: systemParts };
  }
  const declarations = translateTools(body.tools);
  const choice = translateToolChoice(body.tool_choice, declarations);
  if (choice.declarations.length > 0) request.tools = [{ functionDeclarations: choice.declarations }];
  if (choice.config && choice.declarations.length > 0) request.toolConfig = { functionCallingConfig: choice.config };
  const generationConfig = translateGenerationConfig(body);
  if (Object.keys(generationConfig).length > 0) request.generationConfig = generationConfig;
  return request;
}

function translateMessages(messages: unknown[]): { contents: GeminiContent[]; systemParts: GeminiPart[] } {
  const contents: GeminiContent[] = [];
  const systemParts: GeminiPart[] = [];
  /** Function name per OpenAI tool-call id: a Gemini functionResponse names the function, not the call. */
  const toolNames = new Map<string, string>();

  // Gemini expects turns to alternate; OpenAI sends one message per tool result and allows
  // consecutive user messages, so parts of consecutive same-role messages go into one content.
  const append = (role: GeminiRole, parts: GeminiPart[]): void => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };

  messages.forEach((value, index) => {
    const param = `messages[${index}]`;
    const message = asObject(value, param);
    switch (message.role) {
      case 'system':
      case 'developer':
        systemParts.push(...contentParts(message.content, `${param}.content`, 'text-only'));
        break;
      case 'user':
        append('user', contentParts(message.content, `${param}.content`, 'any'));
        break;
      case 'assistant': {
        const parts = contentParts(message.content, `${param}.content`, 'text-only');
        asArray(message.tool_calls).forEach((call, callIndex) => {
          const { id, name, part } = functionCallPart(call, `${param}.tool_calls[${callIndex}]`);
          parts.push(part);
          if (id !== undefined) toolNames.set(id, name);
        });
        append('model', parts);
        break;
      }
      case 'tool': {
        const id = message.tool_call_id;
        const name = typeof id === 'string' ? toolNames.get(id) : undefined;
        if (name === undefined) {
          throw new InvalidRequestError(
            `Invalid parameter: ${param} with role 'tool' must answer a tool call of an earlier assistant message (unknown tool_call_id).`,
            `${param}.tool_call_id`,
          );
        }
        append('user', [{ functionResponse: { name, response: functionResponseBody(message.content, `${param}.content`) } }]);
        break;
      }
      case 'function': {
        // OpenAI's deprecated predecessor of tool messages: it names the function itself.
        if (typeof message.name !== 'string') throw new InvalidRequestError(`Missing required parameter: '${param}.name'.`, `${param}.name`);
        append('user', [{ functionResponse: { name: message.name, response: functionResponseBody(message.content, `${param}.content`) } }]);
        break;
      }
      default:
        throw new InvalidRequestError(`Invalid value for '${param}.role'.`, `${param}.role`);
    }
  });
  return { contents, systemParts };
}

/** Message content (a string or an array of parts) as Gemini parts; empty text is left out. */
function contentParts(content: unknown, param: string, allowed: 'text-only' | 'any'): GeminiPart[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) throw new InvalidRequestError(`Invalid type for '${param}': expected a string or an array of parts.`, param);
  const parts: GeminiPart[] = [];
  content.forEach((value, index) => {
    const partParam = `${param}[${index}]`;
    const part = asObject(value, partParam);
    if (part.type === 'text' || part.type === 'refusal') {
      const text = part.type === 'text' ? part.text : part.refusal;
      if (typeof text !== 'string') throw new InvalidRequestError(`Invalid type for '${partParam}.${String(part.type)}': expected a string.`, partParam);
      if (text !== '') parts.push({ text });
      return;
    }
    if (allowed === 'text-only') {
      throw new InvalidRequestError(`Invalid value for '${partParam}.type': only text parts are accepted in this message.`, `${partParam}.type`);
    }
    parts.push(mediaPart(part, partParam));
  });
  return parts;
}

function mediaPart(part: JsonObject, param: string): GeminiPart {
  switch (part.type) {
    case 'image_url': {
      const image = part.image_url;
      const url = typeof image === 'string' ? image : image && typeof image === 'object' ? (image as JsonObject).url : undefined;
      if (typeof url !== 'string') throw new InvalidRequestError(`Missing required parameter: '${param}.image_url.url'.`, `${param}.image_url.url`);
      return urlPart(url, `${param}.image_url.url`);
    }
    case 'input_audio': {
      const audio = asObject(part.input_audio, `${param}.input_audio`);
      if (typeof audio.data !== 'string' || typeof audio.format !== 'string') {
        throw new InvalidRequestError(`Invalid value for '${param}.input_audio': expected data and format.`, `${param}.input_audio`);
      }
      return { inlineData: { mimeType: `audio/${audio.format}`, data: audio.data } };
    }
    case 'file': {
      const file = asObject(part.file, `${param}.file`);
      if (typeof file.file_data !== 'string') {
        // file_id refers to OpenAI's Files API, which Gemini cannot read.
        throw new InvalidRequestError(`Gemini deployments accept files only as file_data.`, `${param}.file.file_data`);
      }
      if (file.file_data.startsWith('data:')) return { inlineData: decodeDataUrl(file.file_data, `${param}.file.file_data`) };
      const filename = typeof file.filename === 'string' ? file.filename : '';
      return { inlineData: { mimeType: mimeTypeFromName(filename, 'application/pdf'), data: file.file_data } };
    }
    default:
      throw new InvalidRequestError(`Invalid value for '${param}.type': ${JSON.stringify(part.type)} is not supported by Gemini deployments.`, `${param}.type`);
  }
}

/** A data: URL travels inline; a web or Cloud Storage URL is handed to Gemini to fetch. */
function urlPart(url: string, param: string): GeminiPart {
  if (url.startsWith('data:')) return { inlineData: decodeDataUrl(url, param) };
  if (/^(https?|gs):\/\//i.test(url)) return { fileData: { mimeType: mimeTypeFromName(url, 'image/jpeg'), fileUri: url } };
  throw new InvalidRequestError(`Invalid value for '${param}': expected a data:, http(s): or gs: URL.`, param);
}

function decodeDataUrl(url: string, param: string): { mimeType: string; data: string } {
  const comma = url.indexOf(',');
  if (comma < 0) throw new InvalidRequestError(`Invalid value for '${param}': malformed data URL.`, param);
  const meta = url.slice(5, comma).split(';');
  const mimeType = meta[0] || 'text/plain';
  const payload = url.slice(comma + 1);
  if (meta.includes('base64')) return { mimeType, data: payload };
  // RFC 2397 data URLs without ";base64" carry percent-encoded bytes; Gemini wants base64.
  return { mimeType, data: Buffer.from(decodeURIComponent(payload), 'utf8').toString('base64') };
}

const MIME_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
  wav: 'audio/wav',
  mp3: 'audio/mp3',
  mp4: 'video/mp4',
  txt: 'text/plain',
};

/** Gemini requires a MIME type with fileData; OpenAI URLs carry none, so it is guessed from the extension. */
function mimeTypeFromName(name: string, fallback: string): string {
  const path = name.split(/[?#]/, 1)[0];
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/')) return fallback;
  return MIME_TYPES[path.slice(dot + 1).toLowerCase()] ?? fallback;
}

function functionCallPart(value: unknown, param: string): { id: string | undefined; name: string; part: GeminiPart } {
  const call = asObject(value, param);
  const fn = asObject(call.function, `${param}.function`);
  if (typeof fn.name !== 'string') throw new InvalidRequestError(`Missing required parameter: '${param}.function.name'.`, `${param}.function.name`);
  const part: GeminiPart = { functionCall: { name: fn.name, args: parseArguments(fn.arguments, `${param}.function.arguments`) } };
  // Google's own OpenAI-compatible endpoint returns the signature here; Gemini 3 rejects a
  // follow-up turn whose function calls lost it.
  const signature = (call.extra_content as { google?: { thought_signature?: unknown } } | undefined)?.google?.thought_signature;
  if (typeof signature === 'string') part.thoughtSignature = signature;
  return { id: typeof call.id === 'string' ? call.id : undefined, name: fn.name, part };
}

function parseArguments(value: unknown, param: string): Record<string, unknown> {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'string') throw new InvalidRequestError(`Invalid type for '${param}': expected a JSON string.`, param);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidRequestError(`Invalid value for '${param}': not valid JSON.`, param);
  }
  if (!isPlainObject(parsed)) throw new InvalidRequestError(`Invalid value for '${param}': expected a JSON object.`, param);
  return parsed;
}

/** Gemini's functionResponse.response must be a JSON object: anything else is wrapped as `{content}`. */
function functionResponseBody(content: unknown, param: string): Record<string, unknown> {
  const text = contentParts(content, param, 'text-only')
    .map((part) => part.text)
    .join('');
  try {
    const parsed: unknown = JSON.parse(text);
    if (isPlainObject(parsed)) return parsed;
  } catch {
    // not JSON: sent as text below
  }
  return { content: text };
}

function translateTools(value: unknown): GeminiFunctionDeclaration[] {
  return asArray(value).map((tool, index) => {
    const param = `tools[${index}]`;
    const entry = asObject(tool, param);
    if (entry.type !== 'function') {
      throw new InvalidRequestError(`Invalid value for '${param}.type': Gemini deployments support only function tools.`, `${param}.type`);
    }
    const fn = asObject(entry.function, `${param}.function`);
    if (typeof fn.name !== 'string') throw new InvalidRequestError(`Missing required parameter: '${param}.function.name'.`, `${param}.function.name`);
    const declaration: GeminiFunctionDeclaration = { name: fn.name };
    if (typeof fn.description === 'string') declaration.description = fn.description;
    if (isPlainObject(fn.parameters)) declaration.parameters = sanitizeSchema(fn.parameters);
    return declaration;
  });
}

type FunctionCallingConfig = NonNullable<GeminiGenerateContentRequest['toolConfig']>['functionCallingConfig'];

/**
 * OpenAI tool_choice as Gemini's functionCallingConfig. `allowed_tools` has no Gemini counterpart:
 * it is honoured by declaring only the allowed functions.
 */
function translateToolChoice(
  value: unknown,
  declarations: GeminiFunctionDeclaration[],
): { declarations: GeminiFunctionDeclaration[]; config?: FunctionCallingConfig } {
  if (value === undefined || value === null) return { declarations };
  if (value === 'auto') return { declarations, config: { mode: 'AUTO' } };
  if (value === 'none') return { declarations, config: { mode: 'NONE' } };
  if (value === 'required') return { declarations, config: { mode: 'ANY' } };
  if (isPlainObject(value)) {
    if (value.type === 'function' && isPlainObject(value.function) && typeof value.function.name === 'string') {
      return { declarations, config: { mode: 'ANY', allowedFunctionNames: [value.function.name] } };
    }
    if (value.type === 'allowed_tools' && isPlainObject(value.allowed_tools)) {
      const names = new Set(
        asArray(value.allowed_tools.tools).flatMap((tool) =>
          isPlainObject(tool) && isPlainObject(tool.function) && typeof tool.function.name === 'string' ? [tool.function.name] : [],
        ),
      );
      const mode = value.allowed_tools.mode === 'required' ? 'ANY' : 'AUTO';
      return { declarations: declarations.filter((declaration) => names.has(declaration.name)), config: { mode } };
    }
  }
  throw new InvalidRequestError(`Invalid value for 'tool_choice'.`, 'tool_choice');
}

function translateGenerationConfig(body: JsonObject): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {};
  if (typeof body.temperature === 'number') config.temperature = body.temperature;
  if (typeof body.top_p === 'number') config.topP = body.top_p;
  const maxTokens = typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : body.max_tokens;
  if (typeof maxTokens === 'number') config.maxOutputTokens = maxTokens;
  if (typeof body.n === 'number') config.candidateCount = body.n;
  if (typeof body.stop === 'string') config.stopSequences = [body.stop];
  else if (Array.isArray(body.stop)) config.stopSequences = body.stop.filter((stop): stop is string => typeof stop === 'string');
  if (typeof body.seed === 'number') config.seed = body.seed;
  if (typeof body.presence_penalty === 'number') config.presencePenalty = body.presence_penalty;
  if (typeof body.frequency_penalty === 'number') config.frequencyPenalty = body.frequency_penalty;
  if (isPlainObject(body.response_format)) {
    const format = body.response_format;
    if (format.type === 'json_object') config.responseMimeType = 'application/json';
    if (format.type === 'json_schema') {
      config.responseMimeType = 'application/json';
      const schema = isPlainObject(format.json_schema) ? format.json_schema.schema : undefined;
      if (isPlainObject(schema)) config.responseSchema = sanitizeSchema(schema);
    }
  }
  if (body.logprobs === true) {
    config.responseLogprobs = true;
    if (typeof body.top_logprobs === 'number') config.logprobs = body.top_logprobs;
  }
  return config;
}

/** Keys holding a map of property name to schema: the names are data and are kept as they are. */
const SCHEMA_MAPS = new Set(['properties', '$defs', 'definitions', 'patternProperties']);
/** Keys holding a schema or a list of schemas. */
const SCHEMA_CHILDREN = new Set(['items', 'prefixItems', 'anyOf', 'oneOf', 'allOf', 'not', 'additionalItems']);
/** JSON Schema keywords Gemini's Schema object rejects with a 400. */
const REJECTED_KEYWORDS = new Set(['additionalProperties', '$schema']);

/**
 * Copies a JSON schema without the keywords Gemini rejects. It walks the schema's structure
 * rather than every key, so a property that happens to be named `additionalProperties` survives.
 */
export function sanitizeSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (REJECTED_KEYWORDS.has(key)) continue;
    if (SCHEMA_MAPS.has(key) && isPlainObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, isPlainObject(child) ? sanitizeSchema(child) : child]));
    } else if (SCHEMA_CHILDREN.has(key)) {
      out[key] = Array.isArray(value)
        ? value.map((child) => (isPlainObject(child) ? sanitizeSchema(child) : child))
        : isPlainObject(value)
          ? sanitizeSchema(value)
          : value;
    } else {
      out[key] = value;
    }
  }
  return out;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asObject(value: unknown, param: string): JsonObject {
  if (!isPlainObject(value)) throw new InvalidRequestError(`Invalid type for '${param}': expected an object.`, param);
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
