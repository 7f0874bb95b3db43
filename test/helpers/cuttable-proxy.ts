import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in the test process standing between Cerulean and a real server, so a test can
 * make that server go away without touching it:
 * - `cut()` closes every connection and refuses new ones (the server is down);
 * - `stall()` keeps connections open but forwards nothing (a partition: commands hang), until
 *   `restore()` delivers what was held back;
 * - `restore()` forwards again and accepts new connections.
 */
export interface CuttableProxy {
  readonly port: number;
  cut(): Promise<void>;
  stall(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startCuttableProxy(listenPort: number, target: { host: string; port: number }): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let stalled = false;
  let server: Server | undefined;

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const next = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {});
        }
        client.pipe(upstream);
        upstream.pipe(client);
        if (stalled) {
          client.pause();
          upstream.pause();
        }
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      next.once('error', reject);
      next.listen(listenPort, '127.0.0.1', () => {
        server = next;
        resolve();
      });
    });

  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });

  await listen();
  return {
    port: listenPort,
    cut: stop,
    stall() {
      stalled = true;
      for (const socket of sockets) socket.pause();
    },
    async restore() {
      stalled = false;
      for (const socket of sockets) socket.resume();
      if (!server) await listen();
    },
    close: stop,
  };
}
