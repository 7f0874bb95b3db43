// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per origin
// (Cerulean's own code, each npm package, Node internals, GC, idle).
import { readFileSync } from 'node:fs';

function origin(url) {
  if (!url) return '(native/V8)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node internals';
  const dist = url.indexOf('/dist/');
  if (dist >= 0)
    return `cerulean ${url
      .slice(dist + 1)
      .split('/')
      .slice(0, 2)
      .join('/')}`;
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url) {
  if (!url) return '';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let totalUs = 0;
  let idleUs = 0;
  const functions = new Map();
  const origins = new Map();
  for (const [id, time] of selfUs) {
    const { callFrame } = byId.get(id);
    totalUs += time;
    if (callFrame.functionName === '(idle)') {
      idleUs += time;
      continue;
    }
    const name = callFrame.functionName || '(anonymous)';
    const key = `${name} ${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + time);
    const from = ['(garbage collector)', '(program)'].includes(name) ? name : origin(callFrame.url);
    origins.set(from, (origins.get(from) ?? 0) + time);
  }
  const busyUs = totalUs - idleUs;
  const rank = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, time]) => ({ name, ms: Math.round(time / 1000), pctOfBusy: Math.round((time / busyUs) * 1000) / 10 }));
  return {
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    topFunctions: rank(functions),
    byOrigin: rank(origins),
  };
}
