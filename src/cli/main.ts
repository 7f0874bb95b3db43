import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadMasterKey } from '../auth/master-key.js';
import { ConfigError, loadConfig, resolveConfigPath } from '../config/load.js';
import { RELOAD_NOTE, reloadChanges, reloadMessage } from '../config/reload-scope.js';
import { storageUrl } from '../service/governance.js';
import { createLogger } from '../observability/logger.js';
import { startService, type Service } from '../service/service.js';
import { filterPolicyNames } from '../safety/filter-registry.js';
import type { Config } from '../config/schema.js';
import type { Logger } from 'pino';
import { openStorage } from '../storage/open-storage.js';
import { adminUsage, isAdminArea, runAdminCommand } from './admin-command.js';
import { cliReference } from './command-help.js';

export const USAGE = `Usage: cerulean <command> [options]

Commands:
  serve       Start the service
                --config FILE   configuration (default ./cerulean.yaml, else the shipped example)
                --host HOST     override server.host
                --port PORT     override server.port (0 picks a free port)
  check       Validate a configuration file and exit (--config FILE)
  migrate     Apply pending storage migrations and exit (--config FILE)
  version     Print the version
  help        This text (help <area> [<verb>]: an admin command's flags; help --markdown: the CLI reference)
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: "${value}" is not a port number (0-65535)`);
  return port;
}

/**
 * Projects whose stored content-filter choice names a policy the configuration does not have: their
 * requests on those deployments fail closed (503) until an operator fixes one or the other.
 */
function warnUnknownFilterChoices(logger: Logger, service: Service, config: Config): void {
  const known = new Set(filterPolicyNames(config));
  const unknown = service.governance.cache.filterPolicyChoices().filter((choice) => !known.has(choice.policy));
  if (unknown.length > 0) {
    logger.warn(
      { choices: unknown },
      "projects use content-filter policies that are not configured; their requests fail closed until the policy is configured or the project's choice changed",
    );
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } } });
  const configPath = resolveConfigPath(values.config);
  const config = loadConfig(configPath);
  const logger = createLogger(config.logging.level, undefined, config.logging.format ?? (process.stdout.isTTY ? 'pretty' : 'json'));
  // A last resort: every background task handles its own failures, but should one slip through,
  // the process logs it and keeps serving rather than exiting (Node's default).
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection (a bug): logged, still serving'));
  // On shared storage every replica must accept the same master key: none generates its own.
  const master = loadMasterKey(config.data_dir, process.env, { generate: !storageUrl(config).startsWith('postgres') });
  if (master.generated) {
    // Shown once: only its hash is kept.
    process.stdout.write(
      `\nGenerated a master key (shown only this once; only its hash is stored in ${config.data_dir}):\n\n  ${master.generated}\n\nSet CERULEAN_MASTER_KEY to use a key of your own instead.\n\n`,
    );
  }
  const service = await startService(config, { masterHash: master.hash, version: version(), logger });
  const server = service.server;
  const url = await server.listen(values.host ?? config.server.host, parsePort(values.port) ?? config.server.port);
  process.stdout.write(`Cerulean listening on ${url} (config ${configPath})\n`);
  logger.info({ url, config: configPath, version: version() }, 'started');
  for (const [name, provider] of Object.entries(config.providers)) {
    const missing = config.missingVariables[name];
    if (missing?.length) logger.warn({ provider: name, type: provider.type, missing }, 'provider has no credential; its deployments answer 503');
  }
  for (const [at, missing] of Object.entries(config.unsetVariables)) {
    if (!at.startsWith('providers.')) logger.warn({ path: at, missing }, 'configuration refers to unset environment variables; their values are empty');
  }
  warnUnknownFilterChoices(logger, service, config);
  // Start-up lines are shown at once; after that access lines are batched (see createLogger).
  logger.flush();

  let running = config;
  process.on('SIGHUP', () => {
    try {
      const next = loadConfig(configPath);
      const changes = reloadChanges(running, next, config);
      server.reload(next).then(
        () => {
          running = next;
          const fields = { config: configPath, changed: changes.changed, needs_restart: changes.needsRestart };
          if (changes.needsRestart.length > 0) logger.warn(fields, reloadMessage(changes));
          else logger.info(fields, reloadMessage(changes));
          warnUnknownFilterChoices(logger, service, next);
          // Lifecycle lines go out at once, not with the next batch of access lines.
          logger.flush();
        },
        (error: unknown) => logger.error({ err: error, config: configPath }, 'configuration reload failed'),
      );
    } catch (error) {
      logger.error({ problems: error instanceof ConfigError ? error.problems : String(error) }, 'configuration reload rejected; keeping the running one');
    }
  });

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      logger.flush();
      service.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  logger.info('stopped');
  logger.flush();
  return 0;
}

async function migrate(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  const config = loadConfig(resolveConfigPath(values.config));
  const storage = await openStorage(storageUrl(config));
  try {
    const result = await storage.migrate();
    process.stdout.write(result.applied.length ? `applied ${result.applied.join(', ')}; now at ${result.current}\n` : `up to date at ${result.current}\n`);
  } finally {
    await storage.close();
  }
  return 0;
}

/** Exits 1 on any problem; valid files may still earn warnings (unset variables) and a note on reloads. */
function check(args: string[]): number {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  const path = resolveConfigPath(values.config);
  const config = loadConfig(path);
  for (const [at, names] of Object.entries(config.unsetVariables)) {
    process.stderr.write(`warning: ${at}: ${names.map((name) => `\${${name}}`).join(', ')} is not set (the value is empty)\n`);
  }
  process.stdout.write(`${path}: ok (${Object.keys(config.providers).length} providers, ${Object.keys(config.deployments).length} deployments)\n`);
  process.stdout.write(`note: ${RELOAD_NOTE}\n`);
  return 0;
}

/** `cerulean help [--markdown | <area> [<verb>]]`. */
async function help(args: string[]): Promise<number> {
  if (args[0] === '--markdown') {
    process.stdout.write(cliReference(USAGE));
    return 0;
  }
  if (args[0] !== undefined && isAdminArea(args[0])) return runAdminCommand(args[0], [...args.slice(1, 2), '--help']);
  process.stdout.write(`${USAGE}\n${adminUsage()}`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if ((command === 'serve' || command === 'check' || command === 'migrate') && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'check':
        return check(rest);
      case 'migrate':
        return await migrate(rest);
      case 'version':
      case '--version':
        process.stdout.write(`${version()}\n`);
        return 0;
      case 'help':
      case '--help':
        return await help(rest);
      case undefined:
        process.stdout.write(`${USAGE}\n${adminUsage()}`);
        return 2;
      default:
        if (isAdminArea(command)) return await runAdminCommand(command, rest);
        process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n${adminUsage()}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
