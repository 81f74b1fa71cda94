// Reference servers for the benchmark (not part of the product):
//   node bench/reference-server.mjs pg <port>       bare node:http + pg running the SQL that
//                                                     GET /cases/{id} runs (quota, RLS transaction, read)
//   node bench/reference-server.mjs express <port>  bare Express hello-world, beside GET /health
import http from 'node:http';
import { createRequire } from 'node:module';

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
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  // The API resolves keys from a cache too: here the one bench key, resolved at start.
  const tenantId = process.env.BENCH_TENANT_ID;
  const period = new Date().toISOString().slice(0, 8) + '01';
  http
    .createServer(async (req, res) => {
      const id = req.url.split('/')[2];
      try {
        await pool.query('select billing_status, calls, counted from consume_call($1, $2, $3, $4)', [tenantId, period, 'GET /cases/:id', 1000]);
        const client = await pool.connect();
        try {
          await client.query('START TRANSACTION');
          await client.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
          const { rows } = await client.query('select * from cases c where c.tenant_id = $1 and c.id = $2', [tenantId, id]);
          await client.query('COMMIT');
          res.writeHead(rows.length ? 200 : 404, { 'content-type': 'application/json' });
          res.end(JSON.stringify(rows[0] ?? {}));
        } finally {
          client.release();
        }
      } catch (error) {
        res.writeHead(500);
        res.end(String(error));
      }
    })
    .listen(port, '127.0.0.1');
}
