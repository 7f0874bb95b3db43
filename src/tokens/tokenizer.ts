import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';

/**
 * Token counting with OpenAI's tokenizers, offline (the ranks ship inside js-tiktoken). Each
 * encoding is built on first use and kept: building one takes ~100 ms and tens of MB, so a process
 * that never counts tokens never pays for it.
 */
export type EncodingName = 'cl100k_base' | 'o200k_base';

const RANKS: Record<EncodingName, TiktokenBPE> = { cl100k_base: cl100k, o200k_base: o200k };
const built = new Map<EncodingName, Tiktoken>();

/** The encoding a model uses: o200k for the GPT-4o, GPT-4.1, GPT-5 and o-series families, else cl100k. */
export function encodingForModel(model: string): EncodingName {
  return /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o\d|chatgpt-4o|gpt-image|gpt-oss)/.test(model) ? 'o200k_base' : 'cl100k_base';
}

export function tokenizer(name: EncodingName): Tiktoken {
  let encoding = built.get(name);
  if (!encoding) {
    encoding = new Tiktoken(RANKS[name]);
    built.set(name, encoding);
  }
  return encoding;
}

export function countTokens(text: string, encoding: EncodingName = 'cl100k_base'): number {
  return text === '' ? 0 : tokenizer(encoding).encode(text).length;
}
