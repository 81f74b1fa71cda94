import { ACCEPT_UNSEALED_EVENTS } from '@clincore/migrations/1763902600000-webhook-event-seals';
import { withOwner } from './owner-connection';
import type { Print } from './provision.command';
import { UsageError } from './provision.command';

export const WEBHOOKS_USAGE =
  'usage: npm run ops -- webhooks accept-unsealed   (uses MIGRATION_DATABASE_URL)';

/**
 * `webhooks accept-unsealed`: after a rolling deploy, accepts the events that
 * replicas of the earlier version wrote without a seal and that still have a
 * delivery pending, so the workers send them (they refuse any other unsealed
 * event). Run it once the last replica of the earlier version is gone, and
 * only if nobody else held the app login meanwhile: it accepts whatever is
 * unsealed and pending at that moment.
 */
export async function webhooksCommand(argv: string[], print: Print): Promise<void> {
  if (argv.length !== 1 || argv[0] !== 'accept-unsealed') throw new UsageError(WEBHOOKS_USAGE);
  const accepted = await withOwner(
    async (owner) => (await owner.query(ACCEPT_UNSEALED_EVENTS)).rowCount ?? 0,
  );
  print(`accepted ${accepted} unsealed webhook event(s) with a delivery pending`);
}
