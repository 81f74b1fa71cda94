// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by package and by
// function, and inclusive time for our own code. Usage:
//   node bench/profile-summary.mjs <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i += 1) {
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

function packageOf(url) {
  if (!url) return '(native/vm)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `clincore:${url.slice(dist + 6).split('/').slice(0, 2).join('/')}`;
  return url;
}

const pkgs = new Map();
const fns = new Map();
for (const [id, t] of self) {
  const n = byId.get(id);
  const url = n.callFrame.url;
  const pkg = n.callFrame.functionName === '(garbage collector)' ? '(gc)' : n.callFrame.functionName === '(idle)' ? '(idle)' : packageOf(url);
  pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + t);
  const fn = `${n.callFrame.functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
  fns.set(fn, (fns.get(fn) ?? 0) + t);
}
const pct = (t) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`total sampled ${(total / 1e6).toFixed(2)} s`);
console.log('\nself time by package');
for (const [k, v] of [...pkgs].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);
console.log('\nself time by function');
for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);

// Inclusive time (self + callees) by function, for a name filter (third argument, a regular expression).
const filter = process.argv[4] ? new RegExp(process.argv[4]) : null;
if (filter) {
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map();
  for (const [id, t] of self) {
    // Count each function once per sample even when it recurses.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
      if (seen.has(key) || !filter.test(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }
  console.log(`\ninclusive time, functions matching ${filter}`);
  for (const [k, v] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);
}
