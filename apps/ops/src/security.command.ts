import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { checkProductionSecrets } from '@clincore/security/prod-secrets';
import type { Print } from './provision.command';

export const SECURITY_USAGE =
  'usage: npm run security:prod-secrets -- [--json evidence.json]   (checks this environment for production; exit 1 on any failure)';

/** `security:prod-secrets`: every rule passed or failed, never a secret; JSON evidence on request. */
export async function securityCommand(argv: string[], print: Print): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'string' } }, strict: true });
  const results = checkProductionSecrets(process.env);
  for (const r of results) print(`${r.ok ? 'PASS' : 'FAIL'}  ${r.rule.padEnd(22)} ${r.detail}`);
  const passed = results.every((r) => r.ok);
  print(
    passed
      ? 'all production secret rules pass'
      : `${results.filter((r) => !r.ok).length} rule(s) failed`,
  );
  if (values.json) {
    await writeFile(
      values.json,
      `${JSON.stringify({ checked_at: new Date().toISOString(), passed, rules: results }, null, 2)}\n`,
    );
    print(`evidence written to ${values.json}`);
  }
  if (!passed) process.exitCode = 1;
}
