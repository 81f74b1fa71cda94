import {
  ACCEPT_UNSEALED_DELIVERIES,
  REQUEUE_ACCEPTED_REFUSALS,
} from '@clincore/migrations/1763902600000-webhook-event-seals';
import { withOwner } from './owner-connection';
import type { Print } from './provision.command';
import { UsageError } from './provision.command';

export const WEBHOOKS_USAGE =
  'usage: npm run ops -- webhooks accept-unsealed   (uses MIGRATION_DATABASE_URL)';

/**
 * `webhooks accept-unsealed`: after a rolling deploy, accepts the deliveries
 * of events that replicas of the earlier version wrote without a seal, so the
 * workers send them (they refuse any other unsealed event), each to its
 * endpoint and for seven days; those already refused meanwhile are due again
 * at once. Run it once the last replica of the earlier version is gone, and
 * only if nobody else held the app login meanwhile: it accepts whatever is
 * unsealed at that moment.
 */
export async function webhooksCommand(argv: string[], print: Print): Promise<void> {
  if (argv.length !== 1 || argv[0] !== 'accept-unsealed') throw new UsageError(WEBHOOKS_USAGE);
  const [accepted, requeued] = await withOwner(async (owner) => {
    await owner.query('begin');
    try {
      const counts = [
        (await owner.query(ACCEPT_UNSEALED_DELIVERIES)).rowCount ?? 0,
        (await owner.query(REQUEUE_ACCEPTED_REFUSALS)).rowCount ?? 0,
      ];
      await owner.query('commit');
      return counts;
    } catch (error) {
      await owner.query('rollback');
      throw error;
    }
  });
  print(
    `accepted ${accepted} delivery(ies) of unsealed webhook events; ${requeued} refused before are due again`,
  );
}
