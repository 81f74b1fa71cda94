import { ConflictException } from '@nestjs/common';
import type { IdempotencyClaim } from './idempotency-claim';
import { IdempotencyStore } from './idempotency.store';

/**
 * What runOnce does after its transaction failed, the database's part left
 * out (test/idempotency.e2e-spec.ts runs the races on a real one): whether it
 * looks the key up once more.
 */
describe('IdempotencyStore after a failed request', () => {
  const claim: IdempotencyClaim = {
    scope: 'tenant',
    key: 'k',
    secrets: [Buffer.alloc(32, 1)],
    keyDigests: [Buffer.alloc(32, 2)],
    fingerprint: Buffer.alloc(32, 3),
    lookedUp: true,
  };

  function storeFailingWith(failure: Error): { store: IdempotencyStore; lookups: string[] } {
    const lookups: string[] = [];
    const sql = {
      query: (text: string) => {
        lookups.push(text);
        return Promise.resolve([]);
      },
    };
    const txHost = { withTransaction: () => Promise.reject(failure) };
    const store = new IdempotencyStore(sql as never, txHost as never, { ttlHours: 24 });
    return { store, lookups };
  }

  it('looks the key up after a refusal, and the refusal stands when no request committed it', async () => {
    const refusal = new ConflictException('the case is already finalized');
    const { store, lookups } = storeFailingWith(refusal);
    await expect(store.runOnce(claim, () => Promise.reject(refusal))).rejects.toBe(refusal);
    expect(lookups).toEqual([expect.stringContaining('find_idempotency_key')]);
  });

  it('answers a database that cannot serve with its own failure, without a lookup that would wait the same', async () => {
    const down = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    const { store, lookups } = storeFailingWith(down);
    await expect(store.runOnce(claim, () => Promise.reject(down))).rejects.toBe(down);
    expect(lookups).toEqual([]);
  });
});
