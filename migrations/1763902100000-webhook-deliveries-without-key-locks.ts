import type { MigrationInterface, QueryRunner } from 'typeorm';

const ENDPOINT_FK = 'webhook_deliveries_tenant_id_endpoint_id_fkey';
const EVENT_FK = 'webhook_deliveries_tenant_id_event_id_fkey';
const FN = 'delete_webhook_endpoint_deliveries()';

/**
 * A delivery's foreign keys go. Each was checked, for every delivery a
 * change wrote, with a key-share lock: on the tenant's endpoint, which all of
 * the tenant's concurrent writes locked at once, and on the event the same
 * statement had just inserted. So a case written while its tenant deleted an
 * endpoint waited for that deletion and then failed on the foreign key (a
 * 500), or deadlocked with it over the tenant's audit head.
 *
 * Neither key guarded anything else: a delivery is only ever written by the
 * statement that writes its event and reads its endpoint, and events are
 * deleted only by the sweep, which never deletes one that still has
 * deliveries. The endpoint's cascade stays, as a trigger that deletes its
 * deliveries with it (as the owner, as the cascade did: the app may not
 * delete deliveries itself). A delivery written by a change that commits as
 * its endpoint is deleted outlives it: no claim, retry, list or queue metric
 * reads it (each joins the endpoint), and the sweep deletes it with its
 * event.
 */
export class WebhookDeliveriesWithoutKeyLocks1763902100000 implements MigrationInterface {
  name = 'WebhookDeliveriesWithoutKeyLocks1763902100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`alter table webhook_deliveries drop constraint ${ENDPOINT_FK}`);
    await q.query(`alter table webhook_deliveries drop constraint ${EVENT_FK}`);
    await q.query(`
      create function ${FN}
      returns trigger
      language plpgsql security definer
      set search_path = pg_catalog, pg_temp
      as $$
      begin
        delete from public.webhook_deliveries d
         where d.tenant_id = old.tenant_id and d.endpoint_id = old.id;
        return old;
      end
      $$`);
    await q.query(`revoke all on function ${FN} from public`);
    await q.query(`
      create trigger webhook_endpoints_delete_deliveries
        after delete on webhook_endpoints
        for each row execute function ${FN}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop trigger webhook_endpoints_delete_deliveries on webhook_endpoints`);
    await q.query(`drop function ${FN}`);
    await q.query(`
      delete from webhook_deliveries d
       where not exists (select 1 from webhook_endpoints ep
                          where ep.tenant_id = d.tenant_id and ep.id = d.endpoint_id)`);
    await q.query(`
      alter table webhook_deliveries add constraint ${ENDPOINT_FK}
        foreign key (tenant_id, endpoint_id) references webhook_endpoints (tenant_id, id) on delete cascade`);
    await q.query(`
      alter table webhook_deliveries add constraint ${EVENT_FK}
        foreign key (tenant_id, event_id) references webhook_events (tenant_id, id)`);
  }
}
