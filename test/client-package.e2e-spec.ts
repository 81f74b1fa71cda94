import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');
const PACKAGE = path.join(ROOT, 'packages/client');

/** A consumer's use of the client with openapi-fetch's own helper types. */
const CONSUMER = `import { createClient, type ClinCoreClient } from '@clincore/client';
import type { MethodResponse } from 'openapi-fetch';
export const api: ClinCoreClient = createClient({ baseUrl: 'http://127.0.0.1:1' });
type Created = MethodResponse<ClinCoreClient, 'post', '/cases'>;
export const id: Created['id'] = 'x';
`;

/**
 * @clincore/client as a partner installs it (its build, its package.json
 * exports), from an ES-module file and from a CommonJS one, each type-checked
 * under NodeNext and run by Node. A CommonJS-only build gave an ES-module
 * consumer openapi-fetch's CommonJS declarations inside the client and its ES
 * ones outside: `MethodResponse<ClinCoreClient, …>` refused the client.
 */
describe('@clincore/client as installed', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'clincore-client-'));
    const installed = path.join(dir, 'node_modules/@clincore/client');
    mkdirSync(installed, { recursive: true });
    const build = spawnSync(
      process.execPath,
      [path.join(PACKAGE, 'build.mjs'), path.join(installed, 'dist')],
      {
        encoding: 'utf8',
      },
    );
    expect(build.stderr + build.stdout).toBe('');
    cpSync(path.join(PACKAGE, 'package.json'), path.join(installed, 'package.json'));
    for (const dependency of ['openapi-fetch', 'openapi-typescript-helpers'])
      symlinkSync(
        path.join(ROOT, 'node_modules', dependency),
        path.join(dir, 'node_modules', dependency),
      );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('type-checks with openapi-fetch helper types from an ES module and from CommonJS', () => {
    const files = ['consumer.mts', 'consumer.cts'].map((name) => {
      writeFileSync(path.join(dir, name), CONSUMER);
      return path.join(dir, name);
    });
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2024.d.ts', 'lib.dom.d.ts'],
      types: [],
    });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .map(
        (d) =>
          `${path.basename(d.file?.fileName ?? '')}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]}`,
      );
    expect(errors).toEqual([]);
  });

  it('loads in Node from an ES module and from CommonJS', () => {
    const use = `typeof createClient({ baseUrl: 'http://127.0.0.1:1' }).POST`;
    writeFileSync(
      path.join(dir, 'run.mjs'),
      `import { createClient } from '@clincore/client';\nconsole.log(${use});\n`,
    );
    writeFileSync(
      path.join(dir, 'run.cjs'),
      `const { createClient } = require('@clincore/client');\nconsole.log(${use});\n`,
    );
    for (const file of ['run.mjs', 'run.cjs']) {
      const run = spawnSync(process.execPath, [path.join(dir, file)], { encoding: 'utf8' });
      expect({ file, out: run.stdout.trim(), err: run.stderr }).toEqual({
        file,
        out: 'function',
        err: '',
      });
    }
  });
});
