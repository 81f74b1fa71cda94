// npm run bench: the built API on a fresh embedded PostgreSQL, loaded from this
// process with autocannon on loopback. Prints requests/s and latency per route.
// Bounded: BENCH_SECONDS (default 10) per route, BENCH_CONNECTIONS (default 32).
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const port = Number(process.env.BENCH_PORT ?? 3931);
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'clincore-bench-'));
chmodSync(dataDir, 0o755);

const api = spawn(process.execPath, ['dist/apps/api/src/main.js'], {
  env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_URL: '' },
  stdio: ['ignore', 'ignore', 'inherit'],
});

async function waitReady() {
  for (let i = 0; i < 240; i += 1) {
    try {
      if ((await fetch(`${base}/ready`)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('API not ready within 60 s');
}

async function json(route, init) {
  const res = await fetch(`${base}${route}`, init);
  if (!res.ok) throw new Error(`${route}: ${res.status}`);
  return res.json();
}

function load(title, route, headers = {}, request = {}) {
  return new Promise((resolve, reject) => {
    autocannon({ url: `${base}${route}`, connections, duration: seconds, headers, ...request }, (error, result) => {
      if (error) return reject(error);
      const failed = result.non2xx + result.errors + result.timeouts;
      resolve({ title, rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, failed });
    });
  });
}

try {
  await waitReady();
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
  const results = [
    await load('GET /health (no database)', '/health'),
    await load('GET /ready (database + migrations)', '/ready'),
    await load('GET /admin/api-keys (key cache + RLS transaction)', '/admin/api-keys', { 'X-API-Key': tenant.api_key }),
    await load('GET /admin/api-keys with an unknown key (401)', '/admin/api-keys', { 'X-API-Key': `cc_${'A'.repeat(43)}` }),
    await load('POST /cases (NEWS2: validate, score, case + event)', '/cases', { ...key, 'Content-Type': 'application/json' }, {
      method: 'POST',
      body: JSON.stringify(news2),
    }),
    await load('GET /cases/{id}', `/cases/${created.id}`, key),
    await load('GET /cases?limit=20 (after the POST run)', '/cases?limit=20', key),
  ];
  console.log(`\n${connections} connections, ${seconds} s per route, node ${process.version}`);
  console.log('route'.padEnd(52), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'non-2xx'.padStart(8));
  for (const r of results) {
    console.log(r.title.padEnd(52), String(r.rps).padStart(8), String(r.p50).padStart(8), String(r.p99).padStart(8), String(r.failed).padStart(8));
  }
} finally {
  api.kill('SIGTERM');
  await new Promise((resolve) => api.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
