// Builds the package twice, as CommonJS (dist/) and as an ES module (dist/esm/),
// so that each kind of consumer gets declarations in its own module format:
// an ES-module consumer given the CommonJS declarations would see openapi-fetch's
// CommonJS types beside its own ES ones, and openapi-fetch's helper types
// (MethodResponse<ClinCoreClient, …>) would refuse the client.
//   node build.mjs [outDir]   (default dist)
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const here = import.meta.dirname;
const out = path.resolve(process.argv[2] ?? path.join(here, 'dist'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(out, { recursive: true, force: true });
for (const [config, dir] of [
  ['tsconfig.json', out],
  ['tsconfig.esm.json', path.join(out, 'esm')],
]) {
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(here, config), '--outDir', dir], {
    stdio: 'inherit',
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
// Node and TypeScript read a file's module format from the nearest package.json.
mkdirSync(path.join(out, 'esm'), { recursive: true });
writeFileSync(path.join(out, 'esm', 'package.json'), '{ "type": "module" }\n');
