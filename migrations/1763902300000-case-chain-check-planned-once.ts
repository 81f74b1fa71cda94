import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The body of case_events_extend_chain around its check that an event extends its chain. */
function extendChain(chainCheck: string): string {
  return `
    create or replace function case_events_extend_chain() returns trigger
    language plpgsql set search_path = pg_catalog, pg_temp
    as $$
    begin
      if (new.seq = 1) <> (new.type = 'created') then
        raise exception 'a case starts with its created event, and has one' using errcode = 'P0002';
      end if;
      if exists (select 1 from public.case_events e
                  where e.tenant_id = new.tenant_id and e.case_id = new.case_id and e.type = 'finalized') then
        raise exception 'case % is finalized: its chain is closed', new.case_id using errcode = 'P0003';
      end if;
      ${chainCheck}
      return new;
    end
    $$`;
}

const RAISE_NOT_EXTENDING = `raise exception 'event % of case % does not extend its chain', new.seq, new.case_id
            using errcode = 'P0002';`;
const PREVIOUS_MATCHES = `exists (
          select 1 from public.case_events e
           where e.tenant_id = new.tenant_id and e.case_id = new.case_id
             and e.seq = new.seq - 1 and e.hash = new.prev_hash)`;

/**
 * The trigger's check that an event extends its chain, asked only of an
 * event after the first. As one condition (`new.seq > 1 and not exists …`),
 * PostgreSQL planned it again for every event: a created event's custom plan
 * folds to "false", which the cached generic plan never beats (a planning
 * per POST /cases; docs/benchmarks.md, issue 20, sixth pass).
 */
export class CaseChainCheckPlannedOnce1763902300000 implements MigrationInterface {
  name = 'CaseChainCheckPlannedOnce1763902300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      extendChain(`if new.seq > 1 then
        if not ${PREVIOUS_MATCHES} then
          ${RAISE_NOT_EXTENDING}
        end if;
      end if;`),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      extendChain(`if new.seq > 1 and not ${PREVIOUS_MATCHES} then
        ${RAISE_NOT_EXTENDING}
      end if;`),
    );
  }
}
