import { z } from 'zod';
import { TIME_FORMAT, type AdminOperation } from '../admin/admin-operation.js';

/**
 * The command-line flags of an admin operation, read from its input schema (the same one that
 * validates HTTP calls and writes the OpenAPI document), so the CLI reaches every parameter and its
 * help cannot drift from what the operation accepts. Flags are the API's field names; `-` and `_`
 * are the same (`--group-by` is `--group_by`).
 */
export type FlagKind = 'text' | 'email' | 'number' | 'integer' | 'boolean' | 'choice' | 'list' | 'time';

export interface FlagSpec {
  /** The field name, as in the API (snake_case). */
  readonly name: string;
  readonly kind: FlagKind;
  /** Allowed values of a `choice`, or of each item of a `list`. */
  readonly choices?: readonly string[];
  readonly required: boolean;
  /** Where the value travels over HTTP. */
  readonly location: 'path' | 'query' | 'body';
  readonly description?: string;
  readonly defaultValue?: unknown;
}

/** Flags every admin command takes besides its own: where to run and how to print. */
export const COMMON_FLAGS: ReadonlyArray<{ readonly flag: string; readonly description: string }> = [
  { flag: '--config FILE', description: 'configuration whose storage to use directly (default ./cerulean.yaml, else the shipped example)' },
  { flag: '--url URL', description: 'run the command on a running server instead (or CERULEAN_URL)' },
  {
    flag: '--admin-key KEY',
    description: "the server's admin credential: the master key or a user's OIDC token (or CERULEAN_ADMIN_KEY, else CERULEAN_MASTER_KEY)",
  },
  { flag: '--json', description: "print the API's JSON answer as is (most times in epoch milliseconds) instead of tables with local times" },
  { flag: '--help', description: 'show the flags of this command' },
];

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  items?: JsonSchema;
  format?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

const cache = new WeakMap<AdminOperation, readonly FlagSpec[]>();

export function flagsOf(operation: AdminOperation): readonly FlagSpec[] {
  let flags = cache.get(operation);
  if (flags === undefined) {
    flags = readFlags(operation);
    cache.set(operation, flags);
  }
  return flags;
}

function readFlags(operation: AdminOperation): FlagSpec[] {
  const schema = z.toJSONSchema(operation.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const required = new Set(schema.required ?? []);
  const pathParams = new Set([...operation.path.matchAll(/:([a-z_]+)/g)].map((match) => match[1]));
  const inBody = operation.method === 'POST' || operation.method === 'PUT' || operation.method === 'PATCH';
  const flags = Object.entries(schema.properties ?? {}).map(([name, property]): FlagSpec => ({
    name,
    ...kindOf(property),
    required: required.has(name) && property.default === undefined,
    location: pathParams.has(name) ? 'path' : inBody ? 'body' : 'query',
    description: property.description,
    defaultValue: property.default,
  }));
  if (operation.csv && !flags.some((flag) => flag.name === 'format'))
    flags.push({ name: 'format', kind: 'choice', choices: ['json', 'csv'], required: false, location: 'query', description: 'csv for a CSV export' });
  // Path parameters first, then the required flags, each group in the schema's order.
  const rank = (flag: FlagSpec): number => (flag.location === 'path' ? 0 : flag.required ? 1 : 2);
  return flags
    .map((flag, index) => ({ flag, index }))
    .sort((a, b) => rank(a.flag) - rank(b.flag) || a.index - b.index)
    .map(({ flag }) => flag);
}

function kindOf(property: JsonSchema): Pick<FlagSpec, 'kind' | 'choices'> {
  if (property.format === TIME_FORMAT) return { kind: 'time' };
  if (property.enum) return { kind: 'choice', choices: property.enum.map(String) };
  switch (property.type) {
    case 'array':
      return { kind: 'list', ...(property.items?.enum ? { choices: property.items.enum.map(String) } : {}) };
    case 'boolean':
      return { kind: 'boolean' };
    case 'integer':
      return { kind: 'integer' };
    case 'number':
      return { kind: 'number' };
    default:
      return { kind: property.format === 'email' ? 'email' : 'text' };
  }
}

/** How a flag's value is written in help: `--tpm INTEGER`, `--gated [true|false]`, `--scope project|key`. */
export function flagSyntax(flag: FlagSpec): string {
  const name = `--${flag.name}`;
  switch (flag.kind) {
    case 'boolean':
      return `${name} [true|false]`;
    case 'choice':
      return `${name} ${(flag.choices ?? []).join('|')}`;
    case 'list':
      return `${name} ${flag.choices ? `${flag.choices.join('|')},…` : 'A,B,…'}`;
    default:
      return `${name} ${flag.kind.toUpperCase()}`;
  }
}

/** What the kind means, for help: the type column. */
export function kindText(flag: FlagSpec): string {
  switch (flag.kind) {
    case 'time':
      return 'a time: epoch milliseconds, or an ISO 8601 date or date-time';
    case 'list':
      return 'comma-separated, or the flag repeated';
    case 'boolean':
      return 'alone means true';
    default:
      return '';
  }
}

export interface CommandLine {
  /** The operation's fields, as strings (the schemas coerce them, as they do query strings). */
  readonly fields: Record<string, string>;
  readonly json: boolean;
  readonly url: string | undefined;
  readonly adminKey: string | undefined;
  readonly config: string | undefined;
}

export class CommandLineError extends Error {}

/** `DEPLOYMENT TARGET`: how the operation's plain arguments are written in help. */
export function positionalSyntax(operation: AdminOperation): string[] {
  return (operation.positional ?? []).map((name) => name.toUpperCase());
}

/**
 * Reads `--name value`, `--name=value`, `--json`, a bare boolean flag (`--gated`), `--no-gated`, and list
 * flags given several times; plain arguments fill the operation's positional fields in order. An
 * unknown flag, or an argument too many, is an error that says where to look.
 */
export function parseCommandLine(operation: AdminOperation, args: readonly string[], command: string): CommandLine {
  const flags = new Map(flagsOf(operation).map((flag) => [flag.name, flag]));
  const fields: Record<string, string> = {};
  const common = { json: false, url: undefined as string | undefined, adminKey: undefined as string | undefined, config: undefined as string | undefined };
  const positional = [...(operation.positional ?? [])];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (!arg.startsWith('--')) {
      const field = positional.shift();
      if (field === undefined) {
        const expected = positionalSyntax(operation);
        const what = expected.length === 0 ? 'options look like --name value' : `it takes ${expected.join(' ')} and options like --name value`;
        throw new CommandLineError(`Unexpected argument "${arg}": ${what} (see cerulean ${command} --help).`);
      }
      if (fields[field] !== undefined) throw new CommandLineError(`--${field} is given twice.`);
      fields[field] = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq >= 0 ? arg.slice(2, eq) : arg.slice(2)).replace(/-/g, '_');
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (name === 'json') {
      common.json = value === undefined || value === 'true';
      continue;
    }
    const flag = flags.get(name) ?? (name.startsWith('no_') && flags.get(name.slice(3))?.kind === 'boolean' ? flags.get(name.slice(3)) : undefined);
    const isCommon = name === 'url' || name === 'admin_key' || name === 'config';
    if (flag === undefined && !isCommon) {
      const hint = name === 'key' ? ' (the admin credential is --admin-key)' : '';
      throw new CommandLineError(`Unknown option --${name.replace(/_/g, '-')} for "cerulean ${command}"${hint}: see cerulean ${command} --help.`);
    }
    if (flag?.kind === 'boolean' && value === undefined) {
      const next = args[index + 1];
      if (next === 'true' || next === 'false') {
        value = next;
        index += 1;
      } else value = name === flag.name ? 'true' : 'false';
    } else if (flag?.kind === 'boolean' && name !== flag.name) {
      throw new CommandLineError(`--${name.replace(/_/g, '-')} takes no value.`);
    }
    if (value === undefined) {
      const next = args[index + 1];
      if (next === undefined || next.startsWith('--')) throw new CommandLineError(`--${name.replace(/_/g, '-')} needs a value.`);
      value = next;
      index += 1;
    }
    if (isCommon && flag === undefined) {
      if (name === 'url') common.url = value;
      else if (name === 'admin_key') common.adminKey = value;
      else common.config = value;
      continue;
    }
    const field = (flag as FlagSpec).name;
    if (fields[field] !== undefined) {
      if ((flag as FlagSpec).kind !== 'list') throw new CommandLineError(`--${field} is given twice.`);
      fields[field] = `${fields[field]},${value}`;
    } else fields[field] = value;
  }
  return { fields, ...common };
}
