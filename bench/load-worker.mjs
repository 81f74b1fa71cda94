// One load run, in its own process so that `taskset` can pin it apart from the
// server: node bench/load-worker.mjs <spec.json> prints autocannon's figures as JSON.
// The spec: { url, connections, duration, rate?, method?, body?, headers?, targets? }
// where targets is a list of { path, headers } picked at random (or in turn with
// `inTurn`) for every request, so that load spreads over tenants and cases.
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const targets = spec.targets ?? null;
let turn = 0;
const pick = () => (spec.inTurn ? targets[turn++ % targets.length] : targets[Math.floor(Math.random() * targets.length)]);

const request = { method: spec.method ?? 'GET', body: spec.body, headers: spec.headers ?? {} };
if (targets) {
  request.setupRequest = (req) => {
    const target = pick();
    return { ...req, path: target.path, headers: { ...req.headers, ...target.headers } };
  };
}

autocannon(
  {
    url: spec.url,
    connections: spec.connections,
    duration: spec.duration,
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    requests: [request],
  },
  (error, result) => {
    if (error) {
      process.stderr.write(`${error.stack}\n`);
      process.exit(1);
    }
    const codes = Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]),
    );
    process.stdout.write(
      JSON.stringify({
        rps: Math.round(result.requests.average),
        p50: result.latency.p50,
        p99: result.latency.p99,
        requests: result.requests.total,
        failed: result.non2xx + result.errors + result.timeouts,
        codes,
      }),
    );
  },
);
