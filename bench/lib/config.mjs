// Cerulean's configuration file for a benchmark run: one place for what every benchmark sets the
// same way (loopback, port 0, a data directory, OpenAI-compatible fixture providers, deployments
// of the fixture model), with each benchmark's own lines appended.
import { writeFileSync } from 'node:fs';

/**
 * Writes the YAML to `file`.
 * - `providers`: provider name -> the fixture's origin (its `/v1` is the base URL)
 * - `deployments`: deployment name -> provider name (model `fixture-model`)
 * - `storageUrl`, `redisUrl`: optional; absent means the embedded default
 * - `providerLines`, `deploymentLines`: more YAML lines under `providers:` and `deployments:` (indented
 *   two spaces), for entries the plain forms above cannot say (a provider's retry settings, targets)
 * - `extra`: more top-level YAML lines (content_safety, usage, ...)
 */
export function writeCeruleanConfig(file, { dataDir, providers, deployments, storageUrl, redisUrl, providerLines = [], deploymentLines = [], extra = [] }) {
  const lines = ['server:', '  host: 127.0.0.1', '  port: 0', `data_dir: ${JSON.stringify(dataDir)}`];
  if (storageUrl) lines.push(`storage: { url: ${JSON.stringify(storageUrl)} }`);
  if (redisUrl) lines.push(`redis: { url: ${JSON.stringify(redisUrl)} }`);
  lines.push('providers:');
  for (const [name, origin] of Object.entries(providers)) {
    lines.push(`  ${name}:`, '    type: openai-compatible', `    base_url: ${JSON.stringify(`${origin}/v1`)}`);
  }
  lines.push(...providerLines, 'deployments:');
  for (const [name, provider] of Object.entries(deployments)) lines.push(`  ${name}: { provider: ${provider}, model: fixture-model }`);
  lines.push(...deploymentLines);
  writeFileSync(file, [...lines, ...extra, ''].join('\n'));
}
