// One load run, in its own process so that `taskset` can pin it apart from the
// server: node bench/load-worker.mjs <spec.json> prints the figures as JSON.
// The spec: { url, connections, duration, rate?, method?, body?, headers?, targets?, inTurn?,
// idempotencyKey?, webhooks? } where targets is a list of { path, headers } picked at random
// (or in turn with `inTurn`) for every request, so that load spreads over tenants and cases;
// `idempotencyKey` sends a new random Idempotency-Key with every request.
//
// `webhooks: { receiver, adminUrl }`: the requests make webhook deliveries to the bench's
// receiver (bench/webhook-receiver.mjs). Its counts are reset before the run; after it, the
// worker waits until no delivery is pending in the database (the dispatcher may lag behind
// the load), and reports how long that took, what the receiver got and its commit-to-receipt
// p50/p99, so that the next run does not pay for this one's backlog.
//
// Without `rate`: closed loop with autocannon (each connection sends its next
// request when the last one is answered): the peak.
// With `rate`: open loop at a constant rate, one request every 1/rate s whatever
// the answers, latency counted from when each request was due (no coordinated
// omission; autocannon's own rate limit sends in bursts and would add queueing).
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import pg from 'pg';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const targets = spec.targets ?? null;
let turn = 0;
const pick = () => (spec.inTurn ? targets[turn++ % targets.length] : targets[Math.floor(Math.random() * targets.length)]);
const perRequest = () => (spec.idempotencyKey ? { 'Idempotency-Key': randomUUID() } : {});

function closedLoop() {
  const request = { method: spec.method ?? 'GET', body: spec.body, headers: spec.headers ?? {} };
  if (targets || spec.idempotencyKey) {
    request.setupRequest = (req) => {
      const target = targets ? pick() : { path: req.path, headers: {} };
      return { ...req, path: target.path, headers: { ...req.headers, ...target.headers, ...perRequest() } };
    };
  }
  autocannon({ url: spec.url, connections: spec.connections, duration: spec.duration, requests: [request] }, (error, result) => {
    if (error) {
      process.stderr.write(`${error.stack}\n`);
      process.exit(1);
    }
    const codes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]));
    report({
      rps: Math.round(result.requests.average),
      p50: result.latency.p50,
      p99: result.latency.p99,
      requests: result.requests.total,
      failed: result.non2xx + result.errors + result.timeouts,
      codes,
    });
  });
}

function openLoop() {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const latencies = [];
  const codes = {};
  let failed = 0;
  let pending = 0;
  const interval = 1000 / spec.rate;
  const start = performance.now();
  const end = start + spec.duration * 1000;
  let sent = 0;
  const fire = (due) => {
    const target = targets ? pick() : { path: url.pathname + url.search, headers: {} };
    pending += 1;
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: spec.method ?? 'GET',
        path: target.path,
        headers: { ...(spec.headers ?? {}), ...target.headers, ...perRequest(), ...(spec.body ? { 'content-length': Buffer.byteLength(spec.body) } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - due);
          codes[res.statusCode] = (codes[res.statusCode] ?? 0) + 1;
          if (res.statusCode >= 300) failed += 1;
          pending -= 1;
        });
      },
    );
    req.on('error', () => {
      failed += 1;
      pending -= 1;
    });
    req.end(spec.body);
  };
  const tick = () => {
    const now = performance.now();
    // Every request that is due by now goes out now, stamped with when it was due.
    while (sent < spec.rate * spec.duration && start + sent * interval <= now) {
      fire(start + sent * interval);
      sent += 1;
    }
    if (now < end) setTimeout(tick, 1);
    else {
      const wait = setInterval(() => {
        if (pending > 0 && performance.now() < end + 10_000) return;
        clearInterval(wait);
        latencies.sort((a, b) => a - b);
        const at = (q) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN) * 10) / 10;
        report({ rps: Math.round(latencies.length / spec.duration), p50: at(0.5), p99: at(0.99), requests: latencies.length, failed: failed + pending, codes });
        agent.destroy();
      }, 20);
    }
  };
  tick();
}

async function report(figures) {
  if (spec.webhooks) Object.assign(figures, await drained(figures));
  process.stdout.write(JSON.stringify(figures));
}

/** Waits (up to 5 minutes) until no delivery is pending; what the receiver got meanwhile. */
async function drained(figures) {
  const ended = performance.now();
  let pending;
  try {
    for (;;) {
      pending = Number((await db.query(`select count(*) from webhook_deliveries where status = 'pending' and next_attempt_at is not null`)).rows[0].count);
      if (pending === 0 || performance.now() - ended > 300_000) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const received = await (await fetch(`${spec.webhooks.receiver}/stats`)).json();
    return {
      webhooks: {
        // Deliveries made since the run began: more than its 201s, as autocannon does not count
        // the requests still in flight when it stops, though they commit.
        created: (await deliveriesMade()) - deliveriesBefore,
        received: received.received,
        events_received: received.events,
        pending_at_end: pending,
        drained_ms: Math.round(performance.now() - ended),
        commit_to_receipt_p50: received.p50,
        commit_to_receipt_p99: received.p99,
        commit_to_receipt_max: received.max,
      },
    };
  } finally {
    await db.end();
  }
}

// The bench's own bookkeeping, kept off the database's CPU that the run is charged with: one
// connection for the whole run (a new backend and its authentication cost milliseconds), and
// deliveries counted by their identity column's sequence instead of a scan of every delivery.
async function deliveriesMade() {
  const { rows } = await db.query(`select coalesce(pg_sequence_last_value(pg_get_serial_sequence('webhook_deliveries', 'seq')), 0) as n`);
  return Number(rows[0].n);
}

let db;
let deliveriesBefore = 0;
if (spec.webhooks) {
  db = new pg.Client({ connectionString: spec.webhooks.adminUrl });
  await db.connect();
  await fetch(`${spec.webhooks.receiver}/reset`, { method: 'POST' });
  deliveriesBefore = await deliveriesMade();
}
if (spec.rate) openLoop();
else closedLoop();
