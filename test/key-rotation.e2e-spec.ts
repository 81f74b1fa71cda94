import { bootstrapTenant, connect, startApi, type TestApi, type TestTenant } from './support/api';
import { createCase } from './support/cases';
import { freshSigningKey, type TestSigningKey } from './support/signing';

const SIGN = { signed_by: 'Dr. Grace Hopper', meaning: 'authorship' };

/**
 * One API instance at a time, as a deploy replaces them: `@Transactional`
 * resolves its transaction host per process, so instances never overlap here.
 */
describe('signing key rotation', () => {
  async function withApi<T>(
    keys: TestSigningKey[],
    work: (api: TestApi) => Promise<T>,
  ): Promise<T> {
    const api = await startApi({ SIGNING_KEYS: JSON.stringify(keys) });
    try {
      return await work(api);
    } finally {
      await api.close();
    }
  }

  async function finalizeOne(
    api: TestApi,
    tenant: TestTenant,
  ): Promise<{ id: string; keyId: string }> {
    const created = await createCase(api.http, tenant.adminKey);
    const res = await api.http
      .post(`/cases/${created.id}/finalize`)
      .set('X-API-Key', tenant.adminKey)
      .send(SIGN)
      .expect(200);
    return { id: created.id, keyId: res.body.signature.key_id };
  }

  const statusOf = async (api: TestApi, kid: string): Promise<string | undefined> =>
    (
      (await api.http.get('/signing-keys').expect(200)).body.keys as Array<{
        kid: string;
        status: string;
      }>
    ).find((k) => k.kid === kid)?.status;

  it('signs with the new key while signatures made before keep verifying, also once the old private key is gone', async () => {
    const first = freshSigningKey(true, 'rot-a');
    const second = freshSigningKey(true, 'rot-b');
    const third = freshSigningKey(true, 'rot-c');

    const { tenant, before } = await withApi([first], async (api) => {
      const tenant = await bootstrapTenant(api.http, 'Rotation Hospital');
      const before = await finalizeOne(api, tenant);
      expect(before.keyId).toBe(first.kid);
      return { tenant, before };
    });

    const after = await withApi([second, { ...first, active: false }], async (api) => {
      const signed = await finalizeOne(api, tenant);
      expect(signed.keyId).toBe(second.kid);
      expect(await statusOf(api, second.kid)).toBe('active');
      expect(await statusOf(api, first.kid)).toBe('retired');
      return signed;
    });

    // The rotation is in every tenant's audit trail.
    await withApi([{ ...second, active: true }], async (api) => {
      const trail = (
        await api.http
          .get('/admin/audit-events?action=signing_key.rotated')
          .set('X-API-Key', tenant.adminKey)
          .expect(200)
      ).body.items as Array<{ actor: string; target_id: string; before: object; after: object }>;
      expect(trail).toHaveLength(1);
      expect(trail[0]).toMatchObject({
        actor: 'platform',
        target_id: second.kid,
        before: { active_key_id: first.kid },
        after: { active_key_id: second.kid },
      });
      expect(
        (
          await api.http
            .get('/admin/audit-events/verify')
            .set('X-API-Key', tenant.adminKey)
            .expect(200)
        ).body.ok,
      ).toBe(true);
    });

    // An instance that holds neither earlier private key still verifies both signatures.
    await withApi([third], async (api) => {
      for (const { id } of [before, after]) {
        const replay = await api.http
          .post(`/cases/${id}/verify-replay`)
          .set('X-API-Key', tenant.adminKey)
          .expect(200);
        expect(replay.body).toMatchObject({ ok: true });
      }
      expect([
        await statusOf(api, first.kid),
        await statusOf(api, second.kid),
        await statusOf(api, third.kid),
      ]).toEqual(['retired', 'retired', 'active']);
    });
  });

  it('refuses to start with a retired key, or with a kid registered to another key', async () => {
    const old = freshSigningKey(true, 'rot-old');
    await withApi([old], () => Promise.resolve());
    await withApi([freshSigningKey(true, 'rot-new')], () => Promise.resolve());
    await expect(startApi({ SIGNING_KEYS: JSON.stringify([old]) })).rejects.toThrow(
      /retired and cannot sign again/,
    );
    await expect(
      startApi({ SIGNING_KEYS: JSON.stringify([{ ...freshSigningKey(), kid: old.kid }]) }),
    ).rejects.toThrow(/registered with a different public key/);
  });

  it('refuses to sign once another instance has rotated past its key', async () => {
    const stale = await startApi();
    try {
      const tenant = await bootstrapTenant(stale.http, 'Stale');
      const created = await createCase(stale.http, tenant.adminKey);
      // Another instance registers a newer key, as the owner does at a deploy.
      const owner = await connect('owner');
      try {
        const newer = freshSigningKey(true, 'rot-newer');
        const { createPublicKey, createPrivateKey } = await import('node:crypto');
        const x = createPublicKey(
          createPrivateKey({
            key: Buffer.from(newer.private_key, 'base64'),
            format: 'der',
            type: 'pkcs8',
          }),
        ).export({ format: 'jwk' }).x;
        await owner.query('select register_signing_key($1, $2, true)', [newer.kid, x]);
      } finally {
        await owner.end();
      }
      const res = await stale.http
        .post(`/cases/${created.id}/finalize`)
        .set('X-API-Key', tenant.adminKey)
        .send(SIGN);
      expect(res.status).toBe(503);
      expect(res.body.type).toBe('urn:clincore:problem:signing-key-retired');
      expect(
        (await stale.http.get(`/cases/${created.id}`).set('X-API-Key', tenant.adminKey).expect(200))
          .body.status,
      ).toBe('open');
    } finally {
      await stale.close();
    }
  });

  it('does not let the app role register a key', async () => {
    const app = await connect('app');
    try {
      await expect(
        app.query(`select register_signing_key('intruder', $1, true)`, ['A'.repeat(43)]),
      ).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }
  });
});
