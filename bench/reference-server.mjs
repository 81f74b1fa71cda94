// Reference servers for the benchmark (not part of the product):
//   node bench/reference-server.mjs pg <port>       bare node:http + pg running exactly the SQL
//                                                     that GET /cases/{id} and POST /cases run
//   node bench/reference-server.mjs express <port>  bare Express hello-world, beside GET /health
// The pg server takes the tenant and key from the path (/t/{tenant}/cases/{id},
// /t/{tenant}/cases?key={key id}): the API
// resolves keys from an in-memory cache, so key resolution costs no SQL there either.
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createCase, readCase } from './reference-sql.mjs';

const require = createRequire(import.meta.url);
const [kind, portArg] = process.argv.slice(2);
const port = Number(portArg);

if (kind === 'express') {
  const express = require('express');
  const app = express();
  app.get('/health', (_req, res) => res.json({ status: 'ok' }));
  app.listen(port, '127.0.0.1');
} else {
  const { Pool } = require('pg');
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });
  const period = () => new Date().toISOString().slice(0, 8) + '01';
  const sha = (value) => `sha256:${createHash('sha256').update(JSON.stringify(value)).digest('hex')}`;
  http
    .createServer((req, res) => {
      const [route, query] = req.url.split('?');
      const [, , tenant, , id] = route.split('/');
      const send = (status, body) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (req.method === 'GET') {
        readCase(pool, tenant, id, period()).then((row) => send(row ? 200 : 404, row ?? {}), (e) => send(500, { error: String(e) }));
        return;
      }
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', () => {
        const body = JSON.parse(raw);
        createCase(pool, { tenant, keyId: new URLSearchParams(query).get('key'), body, period: period(), id: randomUUID(), sha }).then(
          (row) => send(201, row),
          (e) => send(500, { error: String(e) }),
        );
      });
    })
    .listen(port, '127.0.0.1');
}
