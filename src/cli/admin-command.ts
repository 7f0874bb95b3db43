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
import { storageUrl } from '../service/governance.js';
import { filterPolicyNames } from '../safety/filter-registry.js';
import { openStorage } from '../storage/open-storage.js';
import { areaHelp, commandHelp } from './command-help.js';
import { flagsOf, parseCommandLine } from './operation-flags.js';
import { renderResult } from './result-render.js';

export { adminUsage } from './command-help.js';

/** Areas whose bare command (`cerulean usage`) means one verb. */
const DEFAULT_VERB: Record<string, string> = {
  usage: 'query',
  audit: 'list',
  projects: 'list',
  organizations: 'list',
  deployments: 'list',
  access: 'list',
  abuse: 'list',
  targets: 'list',
  me: 'show',
};

export function isAdminArea(area: string): boolean {
  return ADMIN_OPERATIONS.some((operation) => operation.id.startsWith(`${area}.`));
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
      {
        storage,
        deployments: () => Object.keys(config.deployments),
        filterPolicies: () => filterPolicyNames(config),
        deploymentFilterPolicies: () => config.content_safety.deployments,
      },
      operation,
      MASTER_PRINCIPAL,
      'cli',
    );
    return await operation.run(context, input);
  } finally {
    await storage.close();
  }
}

/** The API names fields (`tpm: expected a number`); on the command line they are flags (`--tpm: …`). */
function asFlags(operation: AdminOperation, message: string): string {
  const names = new Set(flagsOf(operation).map((flag) => flag.name));
  return message.replace(/(^|; |^\d{3}: )([a-z_]+): /g, (whole, before: string, name: string) => (names.has(name) ? `${before}--${name}: ` : whole));
}

/** Runs `cerulean <area> [verb] --flags`, or prints its help. Returns the exit code. */
export async function runAdminCommand(area: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const given = args[0] && !args[0].startsWith('-') ? args.shift() : undefined;
  if (given === undefined && args.length > 0 && args.every((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(areaHelp(area));
    return 0;
  }
  const find = (verb: string | undefined): AdminOperation | undefined =>
    verb ? (adminOperation(`${area}.${verb}`) ?? adminOperation(`${area}.${verb.replace(/-/g, '_')}`)) : undefined;
  let operation = find(given ?? DEFAULT_VERB[area]);
  // `cerulean targets chat`: a word that is no command of the area is the bare command's first argument.
  const bare = find(DEFAULT_VERB[area]);
  if (!operation && given !== undefined && bare?.positional?.length) {
    operation = bare;
    args.unshift(given);
  }
  if (!operation) {
    process.stderr.write(`${given ? `Unknown command "cerulean ${area} ${given}".` : `"cerulean ${area}" needs a command.`}\n\n${areaHelp(area)}`);
    return 2;
  }
  const command = operation.id.replace('.', ' ');
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(commandHelp(operation));
    return 0;
  }
  try {
    const flags = parseCommandLine(operation, args, command);
    const url = flags.url ?? env.CERULEAN_URL;
    let result: unknown;
    let text: string | undefined;
    if (url) {
      const key = flags.adminKey ?? env.CERULEAN_ADMIN_KEY ?? env.CERULEAN_MASTER_KEY;
      if (!key) throw new Error('Talking to a server needs an admin credential: --admin-key, CERULEAN_ADMIN_KEY or CERULEAN_MASTER_KEY.');
      ({ result, text } = await viaServer(operation, flags.fields, url, key));
    } else {
      result = await locally(operation, flags.fields, flags.config);
      if (flags.fields.format === 'csv' && operation.csv) text = operation.csv(result);
    }
    if (text !== undefined) process.stdout.write(text);
    else if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(renderResult(result, operation.table));
    // A new key is printed alone on the last line, so scripts can take it with `tail -n 1`.
    if (!flags.json && text === undefined && operation.id === 'keys.create' && typeof (result as { key?: unknown }).key === 'string') {
      process.stdout.write(`${(result as { key: string }).key}\n`);
    }
    if (operation.id === 'audit.verify' && result && typeof result === 'object' && (result as { ok?: boolean }).ok === false) return 3;
    return 0;
  } catch (error) {
    const message = error instanceof CeruleanError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`${asFlags(operation, message)}\n`);
    return 1;
  }
}
