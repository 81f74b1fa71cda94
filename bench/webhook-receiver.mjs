// A webhook receiver for the bench: node bench/webhook-receiver.mjs <port>, on
// 127.0.0.1. Every POST is answered 200 at once (a partner that keeps up), and
// counted with its commit-to-receipt time: receipt here minus the payload's
// `timestamp`, the event's occurred_at taken in the transaction that committed
// it (same machine, same clock; it precedes the COMMIT by the rest of that
// transaction, a few ms, which the figure therefore includes).
// POST /reset clears the counts; GET /stats returns them as JSON.
import http from 'node:http';

const port = Number(process.argv[2]);
let latencies = [];
let received = 0;
let ids = new Set();

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) * 10) / 10;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ received, events: ids.size, p50: at(0.5), p99: at(0.99), max: at(1) }));
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    latencies = [];
    received = 0;
    ids = new Set();
    res.end();
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const now = performance.timeOrigin + performance.now();
    res.end();
    try {
      const { timestamp } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      latencies.push(now - Date.parse(timestamp));
      received += 1;
      ids.add(req.headers['webhook-id']);
    } catch {
      /* not a delivery */
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
