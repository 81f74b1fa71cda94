import {
  type EntitySubscriberInterface,
  EventSubscriber,
  type TransactionStartEvent,
} from 'typeorm';
import { currentTenantId } from '@clincore/tenancy/tenant-context';
import { queryInTransaction } from './sql';
import { takeTransactionPrelude } from './transaction-prelude';

/**
 * Binds every transaction to the request's tenant. `set_config(..., true)` is
 * transaction-local, so a pooled connection never carries a tenant into the next
 * request; the value is a bound parameter, never spliced into SQL. Without a
 * tenant in the context nothing is set and the RLS policies match no row. A
 * transaction prelude (transaction-prelude.ts) joins this statement.
 */
@EventSubscriber()
export class TenantRlsSubscriber implements EntitySubscriberInterface {
  async afterTransactionStart(event: TransactionStartEvent): Promise<void> {
    const tenantId = currentTenantId();
    const prelude = takeTransactionPrelude();
    if (prelude !== undefined) {
      // An empty tenant binds none, as no binding does: the policies read '' as no tenant.
      prelude.rows = await queryInTransaction(
        event.queryRunner,
        `select set_config('app.tenant_id', $1, true), ${prelude.columns} from ${prelude.from(2)}`,
        [tenantId ?? '', ...prelude.params],
        // One text per kind of prelude, fixed in code: planned once per connection.
        true,
      );
    } else if (tenantId !== undefined) {
      // Straight on the transaction's connection: this statement starts every write.
      await queryInTransaction(
        event.queryRunner,
        `select set_config('app.tenant_id', $1, true)`,
        [tenantId],
        true,
      );
    }
  }
}
