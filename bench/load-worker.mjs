// One load run, in its own process so that `taskset` can pin it apart from the
// server: node bench/load-worker.mjs <spec.json> prints the figures as JSON.
// The spec: { url, connections, duration, rate?, method?, body?, headers?, targets?, inTurn? }
// where targets is a list of { path, headers } picked at random (or in turn with
// `inTurn`) for every request, so that load spreads over tenants and cases.
//
// Without `rate`: closed loop with autocannon (each connection sends its next
// request when the last one is answered): the peak.
// With `rate`: open loop at a constant rate, one request every 1/rate s whatever
// the answers, latency counted from when each request was due (no coordinated
// omission; autocannon's own rate limit sends in bursts and would add queueing).
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import http from 'node:http';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const targets = spec.targets ?? null;
let turn = 0;
const pick = () => (spec.inTurn ? targets[turn++ % targets.length] : targets[Math.floor(Math.random() * targets.length)]);

function closedLoop() {
  const request = { method: spec.method ?? 'GET', body: spec.body, headers: spec.headers ?? {} };
  if (targets) {
    request.setupRequest = (req) => {
      const target = pick();
      return { ...req, path: target.path, headers: { ...req.headers, ...target.headers } };
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
        headers: { ...(spec.headers ?? {}), ...target.headers, ...(spec.body ? { 'content-length': Buffer.byteLength(spec.body) } : {}) },
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

function report(figures) {
  process.stdout.write(JSON.stringify(figures));
}

if (spec.rate) openLoop();
else closedLoop();
