import type { MigrationInterface, QueryRunner } from 'typeorm';

const FN = 'find_idempotency_key(text, bytea[])';

/**
 * find_idempotency_key runs its lookup with a generic plan, cached per
 * session. Left to choose, PostgreSQL kept planning it again (on every call
 * in one session; on a third of the calls under the bench's load): the
 * generic plan's estimate for `key_digest = any($2)` (an array of unknown
 * length) did not beat the custom plans', and a planning of the query under
 * its policy cost some 65 µs, for a lookup by primary key
 * (docs/benchmarks.md, issue 20, sixth pass).
 */
export class IdempotencyLookupGenericPlan1763902200000 implements MigrationInterface {
  name = 'IdempotencyLookupGenericPlan1763902200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`alter function ${FN} set plan_cache_mode = force_generic_plan`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`alter function ${FN} reset plan_cache_mode`);
  }
}
