// npm run bench: the built API on a fresh embedded PostgreSQL (or DATABASE_URL +
// MIGRATION_DATABASE_URL), loaded with autocannon on loopback, beside reference
// servers on the same database: bare node:http + pg running the same SQL as
// GET /cases/{id}, and a bare Express hello-world beside GET /health.
// Bounded: BENCH_SECONDS (default 10) per scenario, BENCH_CONNECTIONS (default 32).
// Results: a table on stdout and JSON in bench/results/.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ports = { api: 3931, pg: 3932, express: 3933 };
const base = `http://127.0.0.1:${ports.api}`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'clincore-bench-'));
chmodSync(dataDir, 0o755);
const children = [];

async function database() {
  if (process.env.DATABASE_URL && process.env.MIGRATION_DATABASE_URL) {
    return { databaseUrl: process.env.DATABASE_URL, migrationDatabaseUrl: process.env.MIGRATION_DATABASE_URL, stop: async () => {} };
  }
  const { startEmbeddedPostgres } = require('../dist/libs/database/src/embedded-postgres.launcher.js');
  return startEmbeddedPostgres({ dataDir, database: 'clincore_bench' });
}

function start(args, env) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

async function waitFor(url) {
  for (let i = 0; i < 240; i += 1) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* not yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} not up within 60 s`);
}

async function json(route, init) {
  const res = await fetch(`${base}${route}`, init);
  if (!res.ok) throw new Error(`${route}: ${res.status}`);
  return res.json();
}

function load(title, url, headers = {}, request = {}) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, headers, ...request }, (error, result) => {
      if (error) return reject(error);
      resolve({
        title,
        rps: Math.round(result.requests.average),
        p50: result.latency.p50,
        p99: result.latency.p99,
        failed: result.non2xx + result.errors + result.timeouts,
      });
    });
  });
}

const db = await database();
try {
  const env = {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.databaseUrl,
    MIGRATION_DATABASE_URL: db.migrationDatabaseUrl,
  };
  start(['dist/apps/api/src/main.js'], { ...env, PORT: String(ports.api) });
  await waitFor(`${base}/ready`);
  const token = readFileSync(path.join(dataDir, 'bootstrap-token'), 'utf8').trim();
  const tenant = await json('/bootstrap', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ tenant_name: 'Bench' }),
  });
  // A paying tenant: the free tier's quota would turn the run into 402s.
  await json(`/platform/tenants/${tenant.tenant_id}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ billing_status: 'active' }),
  });
  const key = { 'X-API-Key': tenant.api_key };
  const news2 = {
    protocol: 'news2',
    subject_ref: 'MRN-bench',
    inputs: { respiration_rate: 22, spo2: 94, spo2_scale: 1, on_oxygen: false, systolic_bp: 105, pulse: 95, consciousness: 'alert', temperature: 38.3 },
  };
  const created = await json('/cases', { method: 'POST', headers: { ...key, 'Content-Type': 'application/json' }, body: JSON.stringify(news2) });

  start(['bench/reference-server.mjs', 'pg', String(ports.pg)], { DATABASE_URL: db.databaseUrl, BENCH_TENANT_ID: tenant.tenant_id });
  start(['bench/reference-server.mjs', 'express', String(ports.express)], {});
  await waitFor(`http://127.0.0.1:${ports.pg}/cases/${created.id}`);
  await waitFor(`http://127.0.0.1:${ports.express}/health`);

  const warmup = Math.max(2, Math.floor(seconds / 3));
  await new Promise((resolve) => autocannon({ url: `${base}/cases/${created.id}`, connections, duration: warmup, headers: key }, resolve));

  const results = [
    await load('GET /health', `${base}/health`),
    await load('  reference: bare Express hello-world', `http://127.0.0.1:${ports.express}/health`),
    await load('GET /ready (database + migrations)', `${base}/ready`),
    await load('GET /cases/{id}', `${base}/cases/${created.id}`, key),
    await load('  reference: node:http + pg, same SQL', `http://127.0.0.1:${ports.pg}/cases/${created.id}`),
    await load('GET /cases?limit=20', `${base}/cases?limit=20`, key),
    await load('POST /cases (NEWS2)', `${base}/cases`, { ...key, 'Content-Type': 'application/json' }, { method: 'POST', body: JSON.stringify(news2) }),
    await load('GET /admin/usage', `${base}/admin/usage`, key),
    await load('GET /admin/api-keys with an unknown key (401)', `${base}/admin/api-keys`, { 'X-API-Key': `cc_${'A'.repeat(43)}` }),
  ];
  const ratio = (a, b) => `${Math.round((results[a].rps / results[b].rps) * 100)}%`;
  console.log(`\n${connections} connections, ${seconds} s per scenario, node ${process.version}, ${new Date().toISOString()}`);
  console.log('scenario'.padEnd(50), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'non-2xx'.padStart(8));
  for (const r of results) {
    console.log(r.title.padEnd(50), String(r.rps).padStart(8), String(r.p50).padStart(8), String(r.p99).padStart(8), String(r.failed).padStart(8));
  }
  console.log(`\nGET /health vs bare Express: ${ratio(0, 1)}; GET /cases/{id} vs node:http + pg on the same SQL: ${ratio(3, 4)}`);
  mkdirSync('bench/results', { recursive: true });
  const file = path.join('bench/results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ connections, seconds, node: process.version, results }, null, 2));
  console.log(`results: ${file}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve() : c.once('exit', resolve)))));
  await db.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
