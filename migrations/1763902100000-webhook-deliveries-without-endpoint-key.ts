import type { MigrationInterface, QueryRunner } from 'typeorm';

const ENDPOINT_FK = 'webhook_deliveries_tenant_id_endpoint_id_fkey';
const FN = 'delete_webhook_endpoint_deliveries()';

/**
 * A delivery's foreign key to its endpoint goes. It was checked, for every
 * delivery a change wrote, with a key-share lock on the tenant's endpoint,
 * which all of the tenant's concurrent writes locked at once. So a case
 * written while its tenant deleted an endpoint waited for that deletion and
 * then failed on the foreign key (a 500), or deadlocked with it over the
 * tenant's audit head.
 *
 * The cascade stays, as a trigger that deletes the endpoint's deliveries with
 * it (as the owner, as the cascade did: the app may not delete deliveries
 * itself). A case's deliveries are written by the statement that reads the
 * endpoints; a test event's after a key-share lock on its endpoint. One
 * written by a change that commits as its endpoint is deleted outlives it:
 * it is sent at most once (if it was handed to a worker as that change
 * committed), and no claim, retry, list or queue metric reads it (each joins
 * the endpoint); the sweep deletes it with its event. The foreign key to the
 * event stays: it locks only the row its own statement inserted.
 */
export class WebhookDeliveriesWithoutEndpointKey1763902100000 implements MigrationInterface {
  name = 'WebhookDeliveriesWithoutEndpointKey1763902100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`alter table webhook_deliveries drop constraint ${ENDPOINT_FK}`);
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
  }
}
