import { randomUUID } from 'node:crypto';
import type { JsonObject, ProviderResponse, Target, Usage } from '../provider.js';
import type { GeminiCandidate, GeminiGenerateContentResponse, GeminiLogprobsCandidate, GeminiLogprobsResult, GeminiUsageMetadata } from './gemini-wire.js';

/** Finish reasons meaning Google withheld or cut the output for policy reasons. */
const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION']);

/**
 * OpenAI's finish_reason for a Gemini one. Gemini says STOP after a function call, where OpenAI
 * says `tool_calls`; reasons with no OpenAI counterpart (OTHER, MALFORMED_FUNCTION_CALL, ...) read as `stop`.
 */
export function finishReasonFromGemini(reason: string, hasToolCalls: boolean): string {
  if (reason === 'MAX_TOKENS') return 'length';
  if (FILTERED.has(reason)) return 'content_filter';
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/** OpenAI usage from Gemini's usageMetadata. */
export function usageFromGemini(metadata: GeminiUsageMetadata): Usage {
  // Tool-use prompt tokens are billed as input, and thoughts as output (OpenAI counts reasoning
  // tokens inside completion_tokens), so both sides still add up to totalTokenCount.
  const prompt = (metadata.promptTokenCount ?? 0) + (metadata.toolUsePromptTokenCount ?? 0);
  const thoughts = metadata.thoughtsTokenCount ?? 0;
  const completion = (metadata.candidatesTokenCount ?? 0) + thoughts;
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: metadata.totalTokenCount ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: metadata.cachedContentTokenCount ?? 0 },
  };
  if (thoughts > 0) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
  /** Where Google's OpenAI-compatible endpoint carries the thought signature; read back by the request translator. */
  extra_content?: { google: { thought_signature: string } };
}

/** What one candidate (or one streamed piece of it) says, in OpenAI terms. */
export interface CandidateOutput {
  /** Text parts joined; null when the candidate has no answer text. Thought summaries are left out. */
  text: string | null;
  toolCalls: OpenAIToolCall[];
  logprobs: JsonObject | null;
}

export function readCandidate(candidate: GeminiCandidate): CandidateOutput {
  let text: string | null = null;
  const toolCalls: OpenAIToolCall[] = [];
  for (const part of candidate.content?.parts ?? []) {
    if (part.functionCall) {
      const call: OpenAIToolCall = {
        id: part.functionCall.id ?? newToolCallId(),
        type: 'function',
        function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
      };
      if (part.thoughtSignature) call.extra_content = { google: { thought_signature: part.thoughtSignature } };
      toolCalls.push(call);
    } else if (typeof part.text === 'string' && !part.thought) {
      text = (text ?? '') + part.text;
    }
  }
  return { text, toolCalls, logprobs: candidate.logprobsResult ? logprobsFromGemini(candidate.logprobsResult) : null };
}

/** Gemini's per-step logprobs as OpenAI's `logprobs.content`. */
function logprobsFromGemini(result: GeminiLogprobsResult): JsonObject {
  const chosen = result.chosenCandidates ?? [];
  return {
    content: chosen.map((token, step) => ({
      ...tokenLogprob(token),
      top_logprobs: (result.topCandidates?.[step]?.candidates ?? []).map(tokenLogprob),
    })),
    refusal: null,
  };
}

function tokenLogprob(token: GeminiLogprobsCandidate): { token: string; logprob: number; bytes: number[] } {
  const text = token.token ?? '';
  return { token: text, logprob: token.logProbability ?? 0, bytes: [...Buffer.from(text, 'utf8')] };
}

export function newToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

export function newCompletionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

/** A generateContent response as an OpenAI `chat.completion`, one choice per candidate. */
export function chatCompletionFromGemini(response: GeminiGenerateContentResponse, target: Target): ProviderResponse {
  const candidates = response.candidates ?? [];
  const choices: JsonObject[] = candidates.map((candidate, position) => {
    const output = readCandidate(candidate);
    const message: JsonObject = { role: 'assistant', content: output.text, refusal: null };
    if (output.toolCalls.length > 0) message.tool_calls = output.toolCalls;
    return {
      index: candidate.index ?? position,
      message,
      finish_reason: finishReasonFromGemini(candidate.finishReason ?? 'STOP', output.toolCalls.length > 0),
      logprobs: output.logprobs,
    };
  });
  if (choices.length === 0 && response.promptFeedback?.blockReason) {
    // A blocked prompt comes back as 200 without candidates; OpenAI clients expect a choice to read.
    choices.push({ index: 0, message: { role: 'assistant', content: null, refusal: null }, finish_reason: 'content_filter', logprobs: null });
  }
  const usage = response.usageMetadata ? usageFromGemini(response.usageMetadata) : undefined;
  const body: JsonObject = {
    id: response.responseId ?? newCompletionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: response.modelVersion ?? target.model,
    choices,
  };
  if (usage) body.usage = usage;
  return { body, usage };
}
