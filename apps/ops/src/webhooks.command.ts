import { ACCEPT_UNSEALED_DELIVERIES } from '@clincore/migrations/1763902600000-webhook-event-seals';
import { withOwner } from './owner-connection';
import type { Print } from './provision.command';
import { UsageError } from './provision.command';

export const WEBHOOKS_USAGE =
  'usage: npm run ops -- webhooks accept-unsealed   (uses MIGRATION_DATABASE_URL)';

/**
 * `webhooks accept-unsealed`: after a rolling deploy, accepts the pending
 * deliveries of events that replicas of the earlier version wrote without a
 * seal, so the workers send them (they refuse any other unsealed event), each
 * to its endpoint and for seven days. Run it once the last replica of the
 * earlier version is gone, and only if nobody else held the app login
 * meanwhile: it accepts whatever is unsealed and pending at that moment.
 */
export async function webhooksCommand(argv: string[], print: Print): Promise<void> {
  if (argv.length !== 1 || argv[0] !== 'accept-unsealed') throw new UsageError(WEBHOOKS_USAGE);
  const accepted = await withOwner(
    async (owner) => (await owner.query(ACCEPT_UNSEALED_DELIVERIES)).rowCount ?? 0,
  );
  print(`accepted ${accepted} pending delivery(ies) of unsealed webhook events`);
}
