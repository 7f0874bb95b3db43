import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxConnections, openFileLimit } from '../../src/server/connection-limit.js';
import { startCerulean, type RunningCerulean } from '../helpers/cerulean.js';

let cerulean: RunningCerulean;
const sockets: Socket[] = [];

beforeAll(async () => {
  cerulean = await startCerulean('server: { max_connections: 2 }\n');
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await cerulean?.close();
});

/** Opens a connection and asks for /healthz on it; resolves with the status line, or 'closed'. */
function probe(): Promise<string> {
  const { port } = new URL(cerulean.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    sockets.push(socket);
    let text = '';
    socket.on('data', (data) => {
      text += data;
      if (text.includes('\r\n')) resolve(text.slice(0, text.indexOf('\r\n')));
    });
    socket.on('error', () => resolve('closed'));
    socket.on('close', () => resolve('closed'));
    socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
  });
}

describe('server.max_connections', () => {
  it('closes connections beyond the cap as they arrive, and serves those within it', async () => {
    expect(await probe()).toBe('HTTP/1.1 200 OK');
    expect(await probe()).toBe('HTTP/1.1 200 OK');
    // Both keep-alive connections are still open: a third is over the cap.
    expect(await probe()).toBe('closed');
  });

  it('defaults to half the open-file limit, less a reserve; 0 means no cap', () => {
    const limits = join(mkdtempSync(join(tmpdir(), 'cerulean-limits-')), 'limits');
    writeFileSync(
      limits,
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n',
    );
    expect(openFileLimit(limits)).toBe(1024);
    expect(maxConnections(undefined, limits)).toBe(448);
    expect(maxConnections(undefined, join(limits, 'absent'))).toBe(Infinity);
    expect(maxConnections(0, limits)).toBe(Infinity);
    expect(maxConnections(100, limits)).toBe(100);
  });
});
