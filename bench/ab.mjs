// A/B: the working tree against another commit, on the same machine, in turns.
//
//   npm run bench:ab -- <git-ref> [rounds=N] [bench options, e.g. --quick --only='GET /cases']
//
// Throughput on a shared VM moves by ±10–30% between runs minutes apart, more
// than most single optimizations change it. Running both builds one after the
// other, several times, and comparing CPU per request gives figures that hold.
// <git-ref> is checked out into a temporary worktree (sharing node_modules),
// both trees are built, then `bench/run.mjs` runs in each in turn (B first in
// odd rounds, so neither side always runs on a warmer machine), both driven by
// the working tree's bench (run.mjs, its load worker and reference servers)
// so that only the API differs. Prints each
// scenario's req/s, API CPU and database CPU µs/req per run (the database's
// empty on an external server), or with --instructions the instructions per
// request, their medians and the change.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const ref = args.find((a) => !a.startsWith('-') && !a.startsWith('rounds='));
const rounds = Number(args.find((a) => a.startsWith('rounds='))?.slice(7) ?? 2);
const benchArgs = args.filter((a) => a !== ref && !a.startsWith('rounds='));
if (!ref || !Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: npm run bench:ab -- <git-ref> [rounds=N] [--quick] [--only='<regexp>']");
  process.exit(2);
}

function run(cwd, command, commandArgs) {
  const r = spawnSync(command, commandArgs, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed in ${cwd}:\n${r.stdout}`);
  return r.stdout;
}

const commit = run(root, 'git', ['rev-parse', '--verify', `${ref}^{commit}`]).trim();
const base = mkdtempSync(path.join(tmpdir(), 'clincore-ab-'));
const sides = { A: { label: `${ref} (${commit.slice(0, 8)})`, dir: base }, B: { label: 'working tree', dir: root } };
try {
  run(root, 'git', ['worktree', 'add', '--detach', base, commit]);
  symlinkSync(path.join(root, 'node_modules'), path.join(base, 'node_modules'));
  for (const side of Object.values(sides)) run(side.dir, 'npm', ['run', 'build', '--silent']);

  const runs = { A: [], B: [] };
  for (let round = 1; round <= rounds; round += 1) {
    for (const key of round % 2 === 1 ? ['B', 'A'] : ['A', 'B']) {
      // The working tree's bench drives both sides, so that only the API differs between them.
      const out = run(sides[key].dir, process.execPath, [path.join(root, 'bench/run.mjs'), ...benchArgs]);
      const file = /results: (\S+\.json)/.exec(out)?.[1];
      if (!file) throw new Error(`no results file in the output of ${sides[key].label}:\n${out}`);
      const { results } = JSON.parse(readFileSync(path.join(sides[key].dir, file), 'utf8'));
      runs[key].push(results);
      console.log(`round ${round}: ${sides[key].label} done`);
    }
  }

  const median = (xs) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  // Titles that count what a run had (finalize's open cases) differ between runs: compared without the count.
  const same = (a, b) => a.replace(/\(\d+ open cases\)/, '(open cases)') === b.replace(/\(\d+ open cases\)/, '(open cases)');
  const of = (key, title, field) => runs[key].map((results) => results.find((r) => same(r.title, title))?.[field]);
  const change = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && a > 0 ? `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%` : '');
  console.log(`\nA = ${sides.A.label}, B = ${sides.B.label}; ${rounds} round(s); bench ${benchArgs.join(' ') || '(full)'}`);
  // Load runs: req/s, API and database CPU per request. --instructions runs: instructions per request.
  const columns = runs.B[0].some((r) => 'ir_per_req' in r)
    ? [['instructions/req (each run)', 'ir_per_req', 34]]
    : [['req/s (each run)', 'rps', 20], ['API cpu µs/req', 'cpu_us_per_req', 20], ['db cpu µs/req', 'db_cpu_us_per_req', 20]];
  console.log('scenario'.padEnd(52), 'side', ...columns.map(([label, , width]) => `${label.padEnd(width)} ${'median'.padStart(10)}`));
  const fmt = (v) => (Number.isFinite(v) ? v.toLocaleString('en') : '');
  for (const { title } of runs.B[0]) {
    const mid = {};
    for (const key of ['A', 'B']) {
      const cells = columns.map(([, field, width]) => {
        const values = of(key, title, field);
        mid[`${key}.${field}`] = median(values);
        return `${values.map(fmt).join(', ').padEnd(width)} ${fmt(median(values)).padStart(10)}`;
      });
      console.log((key === 'A' ? title : '').padEnd(52).slice(0, 52), key.padEnd(4), ...cells);
    }
    console.log(''.padEnd(52), 'B/A'.padEnd(4), ...columns.map(([, field, width]) => `${''.padEnd(width)} ${change(mid[`A.${field}`], mid[`B.${field}`]).padStart(10)}`));
  }
} finally {
  spawnSync('git', ['worktree', 'remove', '--force', base], { cwd: root });
  rmSync(base, { recursive: true, force: true });
}
