import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

const OUTPUT = path.resolve(__dirname, '../../../test-output/faults');

/** Writes a scenario's figures to test-output/faults/<scenario>.json (docs/reliability.md quotes them). */
export async function writeFigures(scenario: string, figures: object): Promise<void> {
  await mkdir(OUTPUT, { recursive: true });
  await writeFile(
    path.join(OUTPUT, `${scenario}.json`),
    `${JSON.stringify({ scenario, recorded_at: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
}
