#!/usr/bin/env node
// The floor: the least a Node reverse proxy can do. Pipes each request to the upstream over a
// keep-alive undici Pool and pipes the response back. No auth, no parsing, no logging.
//
//   node bench/bare-proxy.mjs --upstream http://127.0.0.1:PORT [--port 0]
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: { upstream: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } },
});
if (!values.upstream) throw new Error('--upstream URL is required');
const pool = new Pool(values.upstream, { connections: 128, keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade', 'proxy-connection']);
const strip = (headers) => Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP.has(name)));

const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 0 }, (req, res) => {
  pool.request({ method: req.method, path: req.url, headers: strip(req.headers), body: req }).then(
    (up) => {
      res.writeHead(up.statusCode, strip(up.headers));
      pipeline(up.body, res, () => {});
    },
    (error) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(error.message), type: 'bad_gateway' } }));
    },
  );
});
server.maxRequestsPerSocket = 0;
server.listen(Number(values.port), values.host, () => {
  process.stdout.write(`bare proxy listening on http://${values.host}:${server.address().port}\n`);
});
const stop = () => {
  server.close(() => pool.close().finally(() => process.exit(0)));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
