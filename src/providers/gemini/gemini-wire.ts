/**
 * The parts of the Gemini API's wire format (generativelanguage.googleapis.com, v1beta) that
 * Cerulean sends and reads. Field names follow Google's JSON (camelCase); every response field is
 * optional because Google omits empty ones (a blocked candidate has no `content`, a thinking-only
 * chunk has no text, `usageMetadata` may lack `candidatesTokenCount` until the last chunk).
 */

export interface GeminiFunctionCall {
  /** Present on some models; Cerulean generates an OpenAI tool-call id when it is not. */
  id?: string;
  name: string;
  args?: Record<string, unknown>;
}

export interface GeminiFunctionResponse {
  id?: string;
  name: string;
  /** Must be a JSON object (a protobuf Struct): scalars and arrays are wrapped by the caller. */
  response: Record<string, unknown>;
}

export interface GeminiPart {
  text?: string;
  /** True for thought summaries of thinking models: not part of the answer. */
  thought?: boolean;
  /** Opaque signature the model needs back with the part it came with (Gemini 2.5+ function calls). */
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: GeminiFunctionCall;
  functionResponse?: GeminiFunctionResponse;
}

export type GeminiRole = 'user' | 'model';

export interface GeminiContent {
  role?: GeminiRole;
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  candidateCount?: number;
  stopSequences?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  responseSchema?: Record<string, unknown>;
  responseLogprobs?: boolean;
  logprobs?: number;
}

export interface GeminiGenerateContentRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: GeminiPart[] };
  tools?: Array<{ functionDeclarations: GeminiFunctionDeclaration[] }>;
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } };
  generationConfig?: GeminiGenerationConfig;
}

export interface GeminiLogprobsCandidate {
  token?: string;
  tokenId?: number;
  logProbability?: number;
}

export interface GeminiLogprobsResult {
  /** One entry per decoding step. */
  topCandidates?: Array<{ candidates?: GeminiLogprobsCandidate[] }>;
  /** One entry per decoding step: the token that was picked. */
  chosenCandidates?: GeminiLogprobsCandidate[];
}

export interface GeminiCandidate {
  content?: { role?: string; parts?: GeminiPart[] };
  /** Absent on every streamed chunk but the candidate's last. */
  finishReason?: string;
  index?: number;
  avgLogprobs?: number;
  logprobsResult?: GeminiLogprobsResult;
}

export interface GeminiUsageMetadata {
  /** Includes `cachedContentTokenCount`, as OpenAI's `prompt_tokens` includes `cached_tokens`. */
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  /** Across all candidates; excludes thoughts. */
  candidatesTokenCount?: number;
  /** Tokens of the results of Google-run tools (search grounding, code execution): billed as input. */
  toolUsePromptTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiGenerateContentResponse {
  candidates?: GeminiCandidate[];
  /** Set, with no candidates, when the prompt itself was blocked. */
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
}

export interface GeminiBatchEmbedRequest {
  requests: Array<{ model: string; content: { parts: Array<{ text: string }> }; outputDimensionality?: number }>;
}

export interface GeminiBatchEmbedResponse {
  embeddings?: Array<{ values?: number[] }>;
}

/** Google's error envelope (google.rpc.Status as JSON). */
export interface GeminiErrorBody {
  error?: { code?: number; message?: string; status?: string; details?: unknown[] };
}
