import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { request } from 'undici';
import { MASTER_PRINCIPAL } from '../auth/master-key.js';
import { adminContext, ADMIN_PREFIX, parseInput } from '../admin/admin-routes.js';
import { ADMIN_OPERATIONS, adminOperation } from '../admin/admin-operations.js';
import type { AdminOperation } from '../admin/admin-operation.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { CeruleanError } from '../errors/catalogue.js';
import { storageUrl } from '../governance/governance.js';
import { filterPolicyNames } from '../safety/filter-registry.js';
import { openStorage } from '../storage/open-storage.js';

/** Areas whose bare command (`cerulean usage`) means one verb. */
const DEFAULT_VERB: Record<string, string> = {
  usage: 'query',
  audit: 'list',
  projects: 'list',
  organizations: 'list',
  deployments: 'list',
  access: 'list',
  abuse: 'list',
};

export function isAdminArea(area: string): boolean {
  return ADMIN_OPERATIONS.some((operation) => operation.id.startsWith(`${area}.`));
}

interface ParsedFlags {
  fields: Record<string, string>;
  json: boolean;
  url: string | undefined;
  key: string | undefined;
  config: string | undefined;
}

/** `--name value` and `--name=value` pairs; `-` and `_` in names are the same. */
function parseFlags(args: readonly string[]): ParsedFlags {
  const fields: Record<string, string> = {};
  const out: ParsedFlags = { fields, json: false, url: undefined, key: undefined, config: undefined };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (!arg.startsWith('--')) throw new Error(`Unexpected argument "${arg}": options look like --name value.`);
    let name = arg.slice(2);
    let value: string;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else if (name === 'json') {
      out.json = true;
      continue;
    } else {
      const next = args[index + 1];
      if (next === undefined || next.startsWith('--')) throw new Error(`--${name} needs a value.`);
      value = next;
      index += 1;
    }
    name = name.replace(/-/g, '_');
    if (name === 'url') out.url = value;
    else if (name === 'key') out.key = value;
    else if (name === 'config') out.config = value;
    else fields[name] = value;
  }
  return out;
}

function usageOf(operation: AdminOperation): string {
  return `  cerulean ${operation.id.replace('.', ' ')}  — ${operation.summary}`;
}

export function adminUsage(): string {
  return `Admin commands (against the storage in --config, or a running server with --url and --key / CERULEAN_URL and CERULEAN_ADMIN_KEY):\n${ADMIN_OPERATIONS.map(usageOf).join('\n')}\n`;
}

/** Renders a result for people: tables for lists, `name: value` lines for objects. */
function render(result: unknown): string {
  if (result && typeof result === 'object' && Array.isArray((result as { data?: unknown }).data)) {
    const rows = (result as { data: Array<Record<string, unknown>> }).data;
    if (rows.length === 0) return '(none)\n';
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    const cell = (value: unknown): string => (value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));
    const widths = columns.map((column) => Math.min(60, Math.max(column.length, ...rows.map((row) => cell(row[column]).length))));
    const line = (values: string[]): string =>
      values
        .map((value, i) => value.slice(0, widths[i]).padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    return `${[line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((row) => line(columns.map((c) => cell(row[c]))))].join('\n')}\n`;
  }
  if (result && typeof result === 'object') {
    return `${Object.entries(result as Record<string, unknown>)
      .filter(([name]) => name !== 'key')
      .map(([name, value]) => `${name}: ${value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
      .join('\n')}\n`;
  }
  return `${String(result)}\n`;
}

async function viaServer(operation: AdminOperation, fields: Record<string, string>, url: string, key: string): Promise<{ result: unknown; text?: string }> {
  const remaining = { ...fields };
  const path = operation.path.replace(/:([a-z_]+)/g, (_match, name: string) => {
    const value = remaining[name];
    if (value === undefined) throw new Error(`--${name} is required.`);
    delete remaining[name];
    return encodeURIComponent(value);
  });
  const inBody = operation.method === 'POST' || operation.method === 'PUT' || operation.method === 'PATCH';
  const query = inBody ? '' : `?${new URLSearchParams(remaining).toString()}`;
  const response = await request(`${url.replace(/\/+$/, '')}${ADMIN_PREFIX}${path}${query}`, {
    method: operation.method,
    headers: { authorization: `Bearer ${key}`, ...(inBody ? { 'content-type': 'application/json' } : {}) },
    body: inBody ? JSON.stringify(remaining) : undefined,
  });
  const text = await response.body.text();
  if (response.statusCode >= 400) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // not JSON
    }
    throw new Error(`${response.statusCode}: ${message}`);
  }
  if (String(response.headers['content-type']).startsWith('text/csv')) return { result: undefined, text };
  return { result: JSON.parse(text) };
}

/**
 * The configuration and storage URL a command works on directly: the one `serve` would use
 * (`--config`, else ./cerulean.yaml, else the shipped example). Refuses to create a SQLite
 * database that is not there — it would answer "(none)" to every question — and says whether the
 * configuration or the database was not found.
 */
function localTarget(configFlag: string | undefined): { config: Config; url: string } {
  const path = resolveConfigPath(configFlag);
  const config = loadConfig(path);
  const url = storageUrl(config);
  const file = url.startsWith('sqlite:') && url !== 'sqlite::memory:' ? resolve(url.slice('sqlite:'.length)) : undefined;
  if (file !== undefined && !existsSync(file)) {
    if (configFlag === undefined && !existsSync(resolve('cerulean.yaml'))) {
      throw new Error(
        `No configuration found (no ./cerulean.yaml here) and no database at ${file}. Pass --config FILE, or --url URL (or set CERULEAN_URL) to use a running server.`,
      );
    }
    throw new Error(`No database at ${file} (storage of ${path}). Check --config and the directory you run in; "cerulean migrate" creates an empty one.`);
  }
  return { config, url };
}

async function locally(operation: AdminOperation, fields: Record<string, string>, configFlag: string | undefined): Promise<unknown> {
  const { config, url } = localTarget(configFlag);
  const storage = await openStorage(url);
  try {
    await storage.migrate();
    const input = parseInput(operation, fields);
    const context = adminContext(
      { storage, deployments: () => Object.keys(config.deployments), filterPolicies: () => filterPolicyNames(config) },
      operation,
      MASTER_PRINCIPAL,
      'cli',
    );
    return await operation.run(context, input);
  } finally {
    await storage.close();
  }
}

/** Runs `cerulean <area> [verb] --flags`. Returns the exit code. */
export async function runAdminCommand(area: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const verb = args[0] && !args[0].startsWith('--') ? args.shift() : DEFAULT_VERB[area];
  const operation = verb ? adminOperation(`${area}.${verb}`) : undefined;
  if (!operation) {
    process.stderr.write(`Unknown command "cerulean ${area}${verb ? ` ${verb}` : ''}".\n\n${adminUsage()}`);
    return 2;
  }
  try {
    const flags = parseFlags(args);
    const url = flags.url ?? env.CERULEAN_URL;
    let result: unknown;
    let text: string | undefined;
    if (url) {
      const key = flags.key ?? env.CERULEAN_ADMIN_KEY ?? env.CERULEAN_MASTER_KEY;
      if (!key) throw new Error('Talking to a server needs a key: --key, CERULEAN_ADMIN_KEY or CERULEAN_MASTER_KEY.');
      ({ result, text } = await viaServer(operation, flags.fields, url, key));
    } else {
      result = await locally(operation, flags.fields, flags.config);
      if (flags.fields.format === 'csv' && operation.csv) text = operation.csv(result);
    }
    if (text !== undefined) process.stdout.write(text);
    else if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(render(result));
    // A new key is printed alone on the last line, so scripts can take it with `tail -n 1`.
    if (!flags.json && text === undefined && operation.id === 'keys.create' && typeof (result as { key?: unknown }).key === 'string') {
      process.stdout.write(`${(result as { key: string }).key}\n`);
    }
    if (operation.id === 'audit.verify' && result && typeof result === 'object' && (result as { ok?: boolean }).ok === false) return 3;
    return 0;
  } catch (error) {
    process.stderr.write(`${error instanceof CeruleanError || error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
