import { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * The configuration reference in docs/configuration.md, rendered from the schema itself (its
 * `.describe()` texts, defaults, types and bounds), so the document cannot drift from what `check`
 * accepts. `npm run docs` writes it between the markers below; a test fails when the file is stale
 * or when a key has no description.
 */
export const REFERENCE_BEGIN = '<!-- configuration reference: generated from src/config/schema.ts by `npm run docs`; do not edit by hand -->';
export const REFERENCE_END = '<!-- end of configuration reference -->';

/** One documented key. */
export interface ReferenceRow {
  readonly path: string;
  readonly type: string;
  readonly fallback: string;
  readonly description: string;
}

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
}

const UNBOUNDED = Number.MAX_SAFE_INTEGER;

function variants(schema: JsonSchema): JsonSchema[] | undefined {
  return schema.anyOf ?? schema.oneOf;
}

function isRecord(schema: JsonSchema): boolean {
  return schema.type === 'object' && !schema.properties && typeof schema.additionalProperties === 'object';
}

function typeOf(schema: JsonSchema): string {
  const choices = variants(schema);
  if (choices) return choices.map(typeOf).join(' or ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((value) => `\`${String(value)}\``).join(', ');
  if (schema.format === 'uri') return 'URL';
  switch (schema.type) {
    case 'integer': {
      const low = schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : schema.minimum;
      const high = schema.maximum !== undefined && schema.maximum < UNBOUNDED ? schema.maximum : undefined;
      if (low !== undefined && high !== undefined) return `integer ${low}–${high}`;
      if (low !== undefined) return `integer ≥ ${low}`;
      return 'integer';
    }
    case 'array':
      return `list of ${schema.items ? typeOf(schema.items) : 'values'}`;
    case 'object':
      if (isRecord(schema)) {
        const value = schema.additionalProperties as JsonSchema;
        return value.properties || variants(value) ? 'map of name → object' : `map of name → ${typeOf(value)}`;
      }
      return 'object';
    default:
      return String(schema.type ?? 'any');
  }
}

function fallbackOf(schema: JsonSchema, required: boolean): string {
  if (schema.default !== undefined) {
    const value = schema.default;
    if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) return '';
    return `\`${JSON.stringify(value)}\``;
  }
  return required ? 'required' : '';
}

function collect(schema: JsonSchema, path: string, required: boolean, rows: ReferenceRow[]): void {
  rows.push({ path, type: typeOf(schema), fallback: fallbackOf(schema, required), description: schema.description ?? '' });
  descend(schema, path, rows);
}

function descend(schema: JsonSchema, path: string, rows: ReferenceRow[]): void {
  if (schema.properties) {
    for (const [key, child] of Object.entries(schema.properties)) collect(child, `${path}.${key}`, schema.required?.includes(key) ?? false, rows);
  } else if (isRecord(schema)) {
    const value = schema.additionalProperties as JsonSchema;
    if (value.properties) descend(value, `${path}.<name>`, rows);
    else if (variants(value)) descend(value, `${path}.<name>`, rows);
  } else if (schema.type === 'array' && schema.items?.properties) {
    descend(schema.items, `${path}[]`, rows);
  } else {
    // A union of objects told apart by `type` (classifiers): the choices, then each one's own keys.
    const objects = (variants(schema) ?? []).filter((variant) => variant.properties?.type?.const !== undefined);
    if (objects.length === 0) return;
    const kinds = objects.map((variant) => variant.properties!.type);
    rows.push({
      path: `${path}.type`,
      type: kinds.map((kind) => `\`${String(kind.const)}\``).join(', '),
      fallback: 'required',
      description: kinds.map((kind) => `\`${String(kind.const)}\`: ${kind.description ?? ''}`).join(' '),
    });
    for (const variant of objects) {
      for (const [key, child] of Object.entries(variant.properties!)) {
        if (key !== 'type') collect(child, `${path}.${key} (${String(variant.properties!.type.const)})`, variant.required?.includes(key) ?? false, rows);
      }
    }
  }
}

/** Every key of the configuration, depth first in the schema's order. */
export function referenceRows(): ReferenceRow[] {
  const root = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: ReferenceRow[] = [];
  for (const [key, child] of Object.entries(root.properties ?? {})) collect(child, key, root.required?.includes(key) ?? false, rows);
  return rows;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The generated part of docs/configuration.md, markers included. */
export function renderConfigReference(): string {
  const rows = referenceRows();
  const sections: string[] = [REFERENCE_BEGIN, ''];
  let section = '';
  for (const row of rows) {
    const top = row.path.split('.')[0];
    if (top !== section) {
      section = top;
      const head = rows.find((candidate) => candidate.path === top);
      sections.push('', `### \`${top}\``, '', head?.description ? `${head.description}` : '', '', '| key | type | default | meaning |', '|---|---|---|---|');
      if (row.path === top && !row.type.startsWith('object') && !row.type.startsWith('map')) {
        sections.push(`| \`${row.path}\` | ${cell(row.type)} | ${cell(row.fallback)} | ${cell(row.description)} |`);
      }
      continue;
    }
    sections.push(`| \`${row.path}\` | ${cell(row.type)} | ${cell(row.fallback)} | ${cell(row.description)} |`);
  }
  sections.push('', REFERENCE_END);
  return sections.join('\n').replace(/\n{3,}/g, '\n\n');
}
