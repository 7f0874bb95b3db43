/**
 * "View code": the playground's current request as a program using the official `openai` package,
 * with the OpenAI client (`/v1`) or the AzureOpenAI client (Azure's deployment route). The key is
 * never written out: the program reads it from CERULEAN_API_KEY.
 */
export interface SnippetInput {
  /** Where Cerulean is, as the browser reached it (`location.origin`). */
  readonly origin: string;
  /** The request body the playground sends (`chatRequest`). */
  readonly body: Readonly<Record<string, unknown>>;
  /** The project a token caller charges (`x-cerulean-project`), if any. */
  readonly project: string | null;
}

/** The Azure API version the Azure snippet asks for (one Cerulean accepts, with `stream_options`). */
export const AZURE_API_VERSION = '2024-10-21';

const quote = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;

/** A JSON value as an indented JavaScript literal (JSON is one). */
function literal(value: unknown, indent: string): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`);
}

/** The arguments of `chat.completions.create`, in the order the playground sends them. */
function createArguments(body: Readonly<Record<string, unknown>>): string {
  return Object.entries(body)
    .map(([name, value]) => `  ${name}: ${literal(value, '  ')},`)
    .join('\n');
}

const READ_STREAM = `for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
  if (chunk.usage) console.log('\\n', chunk.usage);
}
`;

export function openAISnippet({ origin, body, project }: SnippetInput): string {
  return `import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: ${quote(`${origin}/v1`)},
  apiKey: process.env.CERULEAN_API_KEY,${project ? `\n  defaultHeaders: { 'x-cerulean-project': ${quote(project)} },` : ''}
});

const stream = await client.chat.completions.create({
${createArguments(body)}
});
${READ_STREAM}`;
}

export function azureSnippet({ origin, body, project }: SnippetInput): string {
  const deployment = typeof body.model === 'string' ? body.model : '';
  return `import { AzureOpenAI } from 'openai';

const client = new AzureOpenAI({
  endpoint: ${quote(origin)},
  apiKey: process.env.CERULEAN_API_KEY,
  apiVersion: ${quote(AZURE_API_VERSION)},
  deployment: ${quote(deployment)},${project ? `\n  defaultHeaders: { 'x-cerulean-project': ${quote(project)} },` : ''}
});

const stream = await client.chat.completions.create({
${createArguments(body)}
});
${READ_STREAM}`;
}
