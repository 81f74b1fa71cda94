import 'reflect-metadata';
import { ACCESS_LOGS_USAGE, accessLogsCommand } from './access-logs.command';
import { AUDIT_USAGE, auditCommand } from './audit.command';
import { BOOTSTRAP_USAGE, bootstrapCommand } from './bootstrap.command';
import { KEYS_USAGE, keysCommand } from './keys.command';
import { SMOKE_USAGE, smokeCommand } from './smoke.command';
import { SECURITY_USAGE, securityCommand } from './security.command';
import { MIGRATE_USAGE, migrateCommand } from './migrate.command';
import { PROVISION_USAGE, provisionCommand, UsageError } from './provision.command';
import { WEBHOOKS_USAGE, webhooksCommand } from './webhooks.command';

/** Operator CLI: `node dist/apps/ops/src/main.js <command> [options]`. */
const commands: Record<string, (argv: string[], print: (line: string) => void) => Promise<void>> = {
  provision: provisionCommand,
  migrate: migrateCommand,
  keys: keysCommand,
  'access-logs': accessLogsCommand,
  'security:prod-secrets': securityCommand,
  audit: auditCommand,
  bootstrap: bootstrapCommand,
  smoke: smokeCommand,
  webhooks: webhooksCommand,
};

async function main(): Promise<void> {
  const [name, ...argv] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command)
    throw new UsageError(
      `commands: ${Object.keys(commands).join(', ')}\n\n${PROVISION_USAGE}\n\n${MIGRATE_USAGE}\n\n${KEYS_USAGE}\n\n${ACCESS_LOGS_USAGE}\n\n${SECURITY_USAGE}\n\n${AUDIT_USAGE}\n\n${BOOTSTRAP_USAGE}\n\n${SMOKE_USAGE}\n\n${WEBHOOKS_USAGE}`,
    );
  await command(argv, (line) => process.stdout.write(`${line}\n`));
}

main().catch((error: unknown) => {
  // Messages only: a stack or a driver error could carry a connection string.
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
