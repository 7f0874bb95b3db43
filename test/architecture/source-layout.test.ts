import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SOURCE = fileURLToPath(new URL('../../src', import.meta.url));

/** Folder under src/ -> folders its files import from, with one example import per edge. */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  const folderOf = (file: string): string => relative(SOURCE, file).split('/')[0].replace(/\.ts$/, '');
  const visit = (directory: string): void => {
    for (const name of readdirSync(directory)) {
      const path = join(directory, name);
      if (statSync(path).isDirectory()) {
        visit(path);
        continue;
      }
      if (!path.endsWith('.ts')) continue;
      const from = folderOf(path);
      if (!graph.has(from)) graph.set(from, new Map());
      for (const match of readFileSync(path, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = resolve(dirname(path), match[1]);
        const to = folderOf(target);
        if (to !== from && !graph.get(from)?.has(to)) graph.get(from)?.set(to, `${relative(SOURCE, path)} imports ${match[1]}`);
      }
    }
  };
  visit(SOURCE);
  return graph;
}

/** Every cycle between folders, each as the list of imports that close it. */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const found: string[][] = [];
  const walk = (start: string, at: string, path: string[], seen: Set<string>): void => {
    for (const [next, example] of graph.get(at) ?? []) {
      if (next === start) found.push([...path, example]);
      else if (!seen.has(next) && next > start) walk(start, next, [...path, example], new Set([...seen, next]));
    }
  };
  for (const start of graph.keys()) walk(start, start, [], new Set([start]));
  return found;
}

describe('source layout', () => {
  it('has no import cycles between folders of src/ (the service is assembled in src/service/ only)', () => {
    expect(cycles(folderGraph())).toEqual([]);
  });

  it('builds every error reply from a catalogue class (no ad-hoc CeruleanError outside src/errors/)', () => {
    const adHoc: string[] = [];
    const visit = (directory: string): void => {
      for (const name of readdirSync(directory)) {
        const path = join(directory, name);
        if (statSync(path).isDirectory()) visit(path);
        else if (path.endsWith('.ts') && !relative(SOURCE, path).startsWith('errors/') && /new CeruleanError\(/.test(readFileSync(path, 'utf8')))
          adHoc.push(relative(SOURCE, path));
      }
    };
    visit(SOURCE);
    expect(adHoc).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const graph = new Map([
      ['a', new Map([['b', 'a/x.ts imports ../b/y.js']])],
      ['b', new Map([['a', 'b/y.ts imports ../a/x.js']])],
    ]);
    expect(cycles(graph)).toEqual([['a/x.ts imports ../b/y.js', 'b/y.ts imports ../a/x.js']]);
  });
});
