#!/usr/bin/env node
// Screenshots of every page of the portal, for the README: `npm run build && npm run portal:screenshots`.
//
// Starts Cerulean from dist/ (SQLite in a temporary data directory, port 0) in front of a small
// OpenAI-compatible upstream of this script's own, creates an organization, a project, a key and a few
// requests so that the usage pages have data (and a pending access request, a project's filter policy, a
// blocklist whose term blocks a prompt, which opens abuse reviews, for the governance pages), then signs in to the portal with the master key in
// Debian's Chromium (CERULEAN_CHROMIUM overrides /usr/bin/chromium) and saves a 1440x900 PNG of each
// page in the navigation into docs/portal/. Any failure ends it with a message and a non-zero status;
// it removes what it started and created either way.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUTPUT = join(ROOT, 'docs/portal');
const CHROMIUM = process.env.CERULEAN_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const VIEWPORT = { width: 1440, height: 900 };
const MASTER_KEY = `cer-master-${randomBytes(24).toString('base64url')}`;
const REPLY = 'Hello! Cerulean passed your message to the upstream model, and this answer streamed back word by word.';

/** What is to be undone at the end, last first. */
const cleanups = [];

class Failure extends Error {}

function fail(message) {
  throw new Failure(message);
}

async function main() {
  if (!existsSync(join(ROOT, 'dist/cli/main.js')) || !existsSync(join(ROOT, 'dist/portal/index.html')))
    fail('dist/ has no build of Cerulean and its portal: run `npm run build` first.');
  if (!existsSync(CHROMIUM)) fail(`Chromium is not installed at ${CHROMIUM}: install it (apt-get install chromium) or set CERULEAN_CHROMIUM.`);

  const upstream = await startUpstream();
  cleanups.push(() => new Promise((resolve) => upstream.server.close(() => resolve())));
  const cerulean = await startCerulean(upstream.url);
  cleanups.push(() => cerulean.stop());
  await seed(cerulean);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  cleanups.push(() => browser.close());
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'light', reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));

  mkdirSync(OUTPUT, { recursive: true });
  const shots = [];
  async function shoot(name) {
    // Nothing still loading, no spinner or focus ring mid-way.
    // (Expressions as text: they run in the page, where the DOM is.)
    await page.waitForFunction(`![...document.querySelectorAll('[role="status"]')].some((element) => /Loading/.test(element.textContent ?? ''))`);
    await page.evaluate('document.activeElement instanceof HTMLElement && document.activeElement.blur()');
    const file = join(OUTPUT, `${name}.png`);
    await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
    shots.push(`${name}.png (${Math.round(statSync(file).size / 1024)} KB)`);
  }
  async function open(label, heading = label) {
    await step(`open ${label}`, async () => {
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: label, exact: true }).click();
      await page.getByRole('heading', { name: heading, exact: true, level: 1 }).waitFor();
    });
  }

  await step('the sign-in page', async () => {
    await page.goto(`${cerulean.url}/portal/`);
    await page.getByRole('heading', { name: 'Sign in to Cerulean' }).waitFor();
    await shoot('sign-in');
    await page.getByLabel('Master key, API key or access token').fill(MASTER_KEY);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Audit log' }).waitFor();
  });

  await open('Deployments');
  await step('the Deployments page', async () => {
    await page.getByRole('row').filter({ hasText: 'gpt-4o-mini' }).first().waitFor();
    await shoot('deployments');
  });

  await open('Keys');
  await step('the Keys page with a project chosen', async () => {
    await page.getByLabel('Project', { exact: true }).selectOption(PROJECT);
    await page.getByRole('row').filter({ hasText: 'search-backend' }).waitFor();
    await shoot('keys');
  });

  await open('Overview');
  await step('the Overview page', async () => {
    await page.getByRole('figure', { name: 'Requests per project' }).locator('.recharts-bar-rectangle').first().waitFor();
    await page.getByRole('figure', { name: 'Cost per deployment' }).locator('.recharts-bar-rectangle').first().waitFor();
    await shoot('overview');
  });

  await open('Usage');
  await step('the Usage page', async () => {
    await page.getByLabel('Project', { exact: true }).selectOption(PROJECT);
    await page.getByRole('checkbox', { name: 'key', exact: true }).check();
    await page.getByRole('button', { name: 'Show usage' }).click();
    await page.getByRole('figure', { name: 'Requests per project and key and deployment' }).locator('.recharts-bar-rectangle').first().waitFor();
    await shoot('usage');
  });

  await open('Quotas & budgets');
  await step('the Quotas & budgets page', async () => {
    await page.getByLabel('Project', { exact: true }).selectOption(PROJECT);
    await page.getByRole('meter', { name: `Project ${PROJECT}, today` }).waitFor();
    await page.getByRole('row').filter({ hasText: 'chat' }).first().waitFor();
    await shoot('limits');
  });

  await open('Limited access');
  await step('the Limited access page with a request to review', async () => {
    await page.getByRole('table', { name: 'Access requests to review' }).getByRole('row').filter({ hasText: PROJECT }).waitFor();
    await page.getByLabel('Project', { exact: true }).selectOption(PROJECT);
    await page.getByRole('table', { name: 'Access requests of Search' }).waitFor();
    await shoot('access');
  });

  await open('Content safety');
  await step('the Content safety page: filter policies', async () => {
    await page.getByLabel('Project', { exact: true }).selectOption(PROJECT);
    await page.getByRole('table', { name: 'Content-filter choices of Search' }).getByRole('row').filter({ hasText: 'strict' }).waitFor();
    await shoot('safety-policies');
  });
  await step('the Content safety page: blocklists', async () => {
    await page.getByRole('link', { name: 'Blocklists', exact: true }).click();
    await page.getByLabel('Project', { exact: true }).selectOption(SUPPORT);
    await page.getByRole('table', { name: 'Terms of Confidential projects' }).getByRole('row').filter({ hasText: 'Project Falcon' }).waitFor();
    await shoot('safety-blocklists');
  });
  await step('the Content safety page: an abuse review opened', async () => {
    await page.getByRole('link', { name: 'Abuse reviews', exact: true }).click();
    await page.getByRole('button', { name: /^Open the review of key / }).click();
    await page.getByRole('list', { name: 'Samples' }).locator('pre').first().waitFor();
    await shoot('safety-reviews');
  });

  await open('Projects');
  await step('the Projects page', async () => {
    await page.getByRole('table', { name: 'Projects' }).getByRole('row').filter({ hasText: PROJECT }).waitFor();
    await shoot('projects');
  });

  await open('Audit log');
  await step('the Audit log page', async () => {
    await page.getByRole('row').filter({ hasText: 'keys.create' }).first().waitFor();
    await shoot('audit');
  });

  // Last: a request made with the master key belongs to no project, and the overview would show it as one without a name.
  await open('Playground');
  await step('the Playground after one streamed answer', async () => {
    await page.getByLabel('Message').fill('Say hello to the people reading the README.');
    await page.getByRole('button', { name: 'Send' }).click();
    const conversation = page.getByRole('log', { name: 'Conversation' });
    await conversation.getByText(REPLY).waitFor();
    await page.getByRole('button', { name: 'Send' }).waitFor();
    await shoot('playground');
  });

  if (errors.length > 0) fail(`the portal reported errors in the browser console:\n  ${errors.join('\n  ')}`);
  process.stdout.write(`Saved ${shots.length} screenshots in docs/portal/:\n  ${shots.join('\n  ')}\n`);
}

const ORGANIZATION = 'org_acme';
const PROJECT = 'proj_search';
const SUPPORT = 'proj_support';

/** An organization, a project with prices, a quota and a budget, two keys, and requests (plain and streamed) through one of them. */
async function seed(cerulean) {
  await cerulean.admin('POST', '/organizations', { name: 'Acme', id: ORGANIZATION });
  await cerulean.admin('POST', '/projects', { organization: ORGANIZATION, name: 'Search', id: PROJECT });
  await cerulean.admin('POST', '/projects', { organization: ORGANIZATION, name: 'Support assistant', id: 'proj_support' });
  await cerulean.admin('PATCH', '/deployments/chat', { input_per_million: 150, output_per_million: 600 });
  await cerulean.admin('PATCH', '/deployments/reasoning', { input_per_million: 2000, output_per_million: 8000 });
  await cerulean.admin('PUT', `/projects/${PROJECT}/quotas/chat`, { tpm: 20000 });
  await cerulean.admin('PUT', `/budgets/project/${PROJECT}`, { daily_usd: 5 });
  const key = (await cerulean.admin('POST', `/projects/${PROJECT}/keys`, { name: 'search-backend' })).key;
  await cerulean.admin('POST', `/projects/${PROJECT}/keys`, { name: 'notebook' });
  const support = (await cerulean.admin('POST', '/projects/proj_support/keys', { name: 'helpdesk' })).key;

  const calls = [
    [key, 'chat', false],
    [key, 'chat', true],
    [key, 'reasoning', false],
    [key, 'chat', false],
    [support, 'chat', true],
    [support, 'reasoning', false],
  ];
  for (const [credential, model, stream] of calls) await infer(cerulean.url, credential, model, stream);
  // The ledger commits usage every flush interval: wait until every request is counted.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const usage = await cerulean.admin('GET', '/usage?group_by=project');
    const requests = (usage.data ?? []).reduce((sum, row) => sum + (row.requests ?? 0), 0);
    if (requests >= calls.length) break;
    if (Date.now() > deadline) fail(`the usage API counts ${requests} of the ${calls.length} requests made after 15 s: ${JSON.stringify(usage)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await seedGovernance(cerulean, support);
}

/**
 * Limited access (the gated `vision`: a pending request of Search, an approved one of Support), a filter
 * policy Search chose for `chat`, and a blocklist of Support whose term blocks a prompt: abuse monitoring
 * (flag threshold 1) opens reviews of the key and the project with the prompt as their sample.
 */
async function seedGovernance(cerulean, supportKey) {
  await cerulean.admin('PATCH', '/deployments/vision', { gated: true });
  await cerulean.admin('POST', `/projects/${SUPPORT}/access-requests`, {
    deployment: 'vision',
    use_case: 'Reading screenshots customers attach to support tickets, to suggest the matching help article.',
  });
  const [approved] = (await cerulean.admin('GET', `/access-requests?project=${SUPPORT}`)).data;
  await cerulean.admin('POST', `/access-requests/${approved.id}/approve`, { reason: 'Screenshots only; no personal documents.' });
  await cerulean.admin('POST', `/projects/${PROJECT}/access-requests`, {
    deployment: 'vision',
    use_case: 'Indexing diagrams and scanned product sheets so that search finds them by what they show.',
  });
  await cerulean.admin('PUT', `/projects/${PROJECT}/content-filters/chat`, { policy: 'strict' });
  const list = await cerulean.admin('POST', `/projects/${SUPPORT}/blocklists`, { name: 'Confidential projects' });
  await cerulean.admin('POST', `/blocklists/${list.id}/terms`, { kind: 'exact', value: 'Project Falcon' });
  await cerulean.admin('POST', `/blocklists/${list.id}/terms`, { kind: 'regex', value: 'falcon-\\d{3}' });
  await cerulean.admin('POST', `/projects/${SUPPORT}/blocklists`, { name: 'Competitors' });
  // The blocklist reaches the policy cache within a moment: retry until the prompt is blocked (400).
  const deadline = Date.now() + 15_000;
  for (;;) {
    const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${supportKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'Draft the launch announcement for Project Falcon, due on Monday.' }] }),
    });
    await response.text();
    if (response.status === 400) break;
    if (Date.now() > deadline) fail(`the blocklist did not block the prompt within 15 s (last answer ${response.status})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (;;) {
    const reviews = await cerulean.admin('GET', '/abuse/reviews?status=open');
    if (reviews.data.length >= 2) return;
    if (Date.now() > deadline) fail(`abuse monitoring opened no review within 15 s: ${JSON.stringify(reviews)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function infer(url, credential, model, stream) {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'What can Cerulean do?' }], max_tokens: 64 }),
  });
  const text = await response.text();
  if (!response.ok) fail(`POST /v1/chat/completions (${model}, stream ${stream}) answered ${response.status}: ${text}`);
}

/** A tiny OpenAI-compatible upstream: chat completions as JSON or as server-sent events. */
function startUpstream() {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || !request.url?.endsWith('/chat/completions')) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: `no route ${request.method} ${request.url}`, type: 'invalid_request_error' } }));
        return;
      }
      const payload = JSON.parse(body || '{}');
      const id = `chatcmpl-${randomBytes(6).toString('hex')}`;
      const created = Math.floor(Date.now() / 1000);
      const model = payload.model ?? 'model';
      const promptTokens = 12 + JSON.stringify(payload.messages ?? []).length / 8;
      const words = REPLY.split(/(?<= )/);
      const usage = { prompt_tokens: Math.round(promptTokens), completion_tokens: words.length, total_tokens: Math.round(promptTokens) + words.length };
      if (!payload.stream) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            id,
            object: 'chat.completion',
            created,
            model,
            choices: [{ index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }],
            usage,
          }),
        );
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
      const events = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])];
      for (const word of words) events.push(chunk([{ index: 0, delta: { content: word }, finish_reason: null }]));
      events.push(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
      if (payload.stream_options?.include_usage) events.push(chunk([], { usage }));
      events.push('data: [DONE]\n\n');
      let next = 0;
      const timer = setInterval(() => {
        if (next < events.length) response.write(events[next++]);
        else {
          clearInterval(timer);
          response.end();
        }
      }, 15);
      response.on('close', () => clearInterval(timer));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

/** Cerulean from dist/, with a configuration and data directory of its own; resolves once it listens. */
async function startCerulean(upstreamUrl) {
  const directory = mkdtempSync(join(tmpdir(), 'cerulean-screenshots-'));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  const config = join(directory, 'cerulean.yaml');
  writeFileSync(
    config,
    `data_dir: ${JSON.stringify(join(directory, 'data'))}
storage: { url: ${JSON.stringify(`sqlite:${join(directory, 'data', 'cerulean.db')}`)} }
logging: { level: warn, format: json }
usage: { flush_interval_ms: 100 }
providers:
  upstream: { type: openai-compatible, base_url: "${upstreamUrl}/v1", region: westeurope }
deployments:
  chat: { provider: upstream, model: gpt-4o-mini }
  reasoning: { provider: upstream, model: o4-mini }
  vision: { provider: upstream, model: gpt-4o }
content_safety:
  policies:
    strict: { prompt: { hate: low, sexual: low, violence: low, self_harm: low } }
  deployments: { vision: strict }
  abuse_monitoring: { flag_threshold: 1, block_threshold: 100, actions: [notify] }
`,
  );
  mkdirSync(join(directory, 'data'));
  const child = spawn(process.execPath, [join(ROOT, 'bin/cerulean.js'), 'serve', '--config', config, '--host', '127.0.0.1', '--port', '0'], {
    cwd: directory,
    env: { ...process.env, CERULEAN_MASTER_KEY: MASTER_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Failure(`Cerulean did not start within 30 s:\n${output}`)), 30_000);
    const read = (chunk) => {
      output += chunk;
      const match = /Cerulean listening on (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.setEncoding('utf8').on('data', read);
    child.stderr.setEncoding('utf8').on('data', read);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Failure(`Cerulean exited (${signal ?? `status ${code}`}) before listening:\n${output}`));
    });
  }).catch((error) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    url,
    async admin(method, path, body) {
      const response = await fetch(`${url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${MASTER_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) fail(`${method} /admin/v1${path} answered ${response.status}: ${text}`);
      return text ? JSON.parse(text) : {};
    },
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}

/** Runs one step; a failure says which step failed. */
async function step(what, action) {
  try {
    await action();
  } catch (error) {
    if (error instanceof Failure) throw error;
    throw new Failure(`${what} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

let status = 0;
try {
  await main();
} catch (error) {
  status = 1;
  process.stderr.write(`portal-screenshots: ${error instanceof Failure ? error.message : (error?.stack ?? String(error))}\n`);
} finally {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      process.stderr.write(`portal-screenshots: cleaning up failed: ${error instanceof Error ? error.message : String(error)}\n`);
      status = 1;
    }
  }
}
process.exit(status);
