// A/B: the working tree against another commit, on the same machine, in turns.
//
//   npm run bench:ab -- <git-ref> [rounds=N] [bench options, e.g. --quick --only='GET /cases']
//
// Throughput on a shared VM moves by ±10–30% between runs minutes apart, more
// than most single optimizations change it. Running both builds one after the
// other, several times, and comparing CPU per request gives figures that hold.
// <git-ref> is checked out into a temporary worktree (sharing node_modules),
// both trees are built, then `bench/run.mjs` runs in each in turn (B first in
// odd rounds, so neither side always runs on a warmer machine). Prints each
// scenario's req/s, API CPU and database CPU µs/req per run (the database's
// empty on an external server), their medians and the change.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
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
  if (!existsSync(path.join(base, 'bench/run.mjs'))) throw new Error(`${ref} has no bench/run.mjs`);

  const runs = { A: [], B: [] };
  for (let round = 1; round <= rounds; round += 1) {
    for (const key of round % 2 === 1 ? ['B', 'A'] : ['A', 'B']) {
      const out = run(sides[key].dir, process.execPath, ['bench/run.mjs', ...benchArgs]);
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
  const of = (key, title, field) => runs[key].map((results) => results.find((r) => r.title === title)?.[field]);
  const change = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && a > 0 ? `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%` : '');
  console.log(`\nA = ${sides.A.label}, B = ${sides.B.label}; ${rounds} round(s); bench ${benchArgs.join(' ') || '(full)'}`);
  console.log('scenario'.padEnd(52), 'side', 'req/s (each run)'.padEnd(20), 'median', ' API cpu µs/req'.padEnd(20), 'median', ' db cpu µs/req'.padEnd(20), 'median');
  const cells = (values, mid) => [' ' + values.map((v) => (Number.isFinite(v) ? v : '')).join(', ').padEnd(19), String(mid).padStart(6)];
  for (const { title } of runs.B[0]) {
    const row = {};
    for (const key of ['A', 'B']) {
      const rps = of(key, title, 'rps');
      const cpu = of(key, title, 'cpu_us_per_req');
      const db = of(key, title, 'db_cpu_us_per_req');
      row[key] = { rps: median(rps), cpu: median(cpu), db: median(db) };
      console.log(
        (key === 'A' ? title : '').padEnd(52).slice(0, 52),
        key.padEnd(4),
        ...cells(rps, row[key].rps).map((c, i) => (i === 0 ? c.slice(1).padEnd(20) : c)),
        ...cells(cpu, row[key].cpu),
        ...cells(db, row[key].db),
      );
    }
    console.log(''.padEnd(52), 'B/A'.padEnd(4), ''.padEnd(20), change(row.A.rps, row.B.rps).padStart(6), ''.padEnd(20), change(row.A.cpu, row.B.cpu).padStart(6), ''.padEnd(20), change(row.A.db, row.B.db).padStart(6));
  }
} finally {
  spawnSync('git', ['worktree', 'remove', '--force', base], { cwd: root });
  rmSync(base, { recursive: true, force: true });
}
