import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');

/** The TypeScript blocks of a Markdown file that use the typed client. */
function clientExamples(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((match) => match[1] ?? '')
    .filter((code) => code.includes("from '@clincore/client'"));
}

/**
 * What a partner copies from the README must compile against the typed client
 * as it is generated from the OpenAPI document, under `strict`: a document
 * change that breaks the examples' types (a response only FHIR answers made
 * `error` a content map) fails here.
 */
describe('README examples of @clincore/client', () => {
  it.each([['README.md'], ['packages/client/README.md']])('%s compiles under strict', (file) => {
    const examples = clientExamples(file);
    expect(examples.length).toBeGreaterThan(0);
    const dir = mkdtempSync(path.join(tmpdir(), 'clincore-readme-'));
    try {
      const files = examples.map((code, index) => {
        const name = path.join(dir, `example-${String(index)}.mts`);
        writeFileSync(name, code);
        return name;
      });
      const program = ts.createProgram(files, {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        target: ts.ScriptTarget.ES2023,
        module: ts.ModuleKind.Node16,
        moduleResolution: ts.ModuleResolutionKind.Node16,
        lib: ['lib.es2024.d.ts', 'lib.dom.d.ts'],
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules/@types')],
        paths: { '@clincore/client': [path.join(ROOT, 'packages/client/src/index.ts')] },
      });
      const errors = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]);
      expect(errors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
