import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { caseBundle } from './case-bundle';
import {
  CLINCORE_INPUT,
  type Code,
  type InputSource,
  LOINC,
  PROTOCOL_MAPPINGS,
  SNOMED,
} from './fhir-mapping';
import { exampleCase } from './fhir.examples';

const DOC = readFileSync(path.join(__dirname, '../../../docs/fhir.md'), 'utf8');

const SYSTEMS: Record<string, string> = {
  [LOINC]: 'LOINC',
  [SNOMED]: 'SNOMED CT',
  [CLINCORE_INPUT]: 'ClinCore',
};

function code(c: Code): string {
  return `${SYSTEMS[c.system] ?? c.system} \`${c.code}\` ${c.display}`;
}

/** One table row per input, as docs/fhir.md states it for partners. */
function row(protocol: string, input: string, source: InputSource): string {
  const codes = source.codes.map(code).join('<br>');
  switch (source.kind) {
    case 'quantity': {
      const where = source.panel
        ? `component of ${code(source.panel)}, valueQuantity`
        : 'valueQuantity';
      return `| ${protocol} | \`${input}\` | ${codes} | ${where} | \`${source.unit}\` |`;
    }
    case 'coded':
    case 'sex': {
      const answers = source.answers
        .map((answer) => `${code(answer.code)} → \`${String(answer.value)}\``)
        .join('<br>');
      const from = source.kind === 'sex' ? ' (or Patient.gender)' : '';
      return `| ${protocol} | \`${input}\` | ${codes} | valueCodeableConcept${from}:<br>${answers} | |`;
    }
    case 'explicit':
      return `| ${protocol} | \`${input}\` | ${codes} | value${source.valueType === 'boolean' ? 'Boolean' : 'Integer'} | |`;
    case 'age':
      return `| ${protocol} | \`${input}\` | ${codes} | valueQuantity (or Patient.birthDate) | \`a\` |`;
  }
}

function expectedRows(): string[] {
  return Object.entries(PROTOCOL_MAPPINGS).flatMap(([protocol, mapping]) => [
    ...Object.entries(mapping.inputs).map(([input, source]) => row(protocol, input, source)),
    `| ${protocol} | (score) | ${code(mapping.score)} | valueQuantity | \`{score}\` |`,
  ]);
}

function section(start: string, end: string): string {
  const from = DOC.indexOf(start);
  const to = DOC.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/fhir.md lacks ${start} … ${end}`);
  return DOC.slice(from + start.length, to);
}

/** docs/fhir.md is what partners map their systems from: it must say what the code does. */
describe('docs/fhir.md', () => {
  it('states the mapping table exactly as fhir-mapping.ts has it', () => {
    const rows = section('<!-- mapping:start -->', '<!-- mapping:end -->')
      .split('\n')
      .filter(
        (line) =>
          line.startsWith('| ') && !line.startsWith('| Protocol') && !line.startsWith('|--'),
      );
    expect(rows.join('\n')).toBe(expectedRows().join('\n'));
  });

  it('shows the example Bundle the code produces for the finalized NEWS2 example case', () => {
    const shown = section('<!-- example-bundle:start -->', '<!-- example-bundle:end -->')
      .replace(/^\s*```json\n/, '')
      .replace(/```\s*$/, '');
    expect(JSON.parse(shown)).toEqual(caseBundle(exampleCase(true)));
  });
});
