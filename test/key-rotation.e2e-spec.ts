import { bootstrapTenant, startApi, type TestApi } from './support/api';
import { createCase } from './support/cases';
import { testSigningKey } from './support/global-setup';

const SIGN = { signed_by: 'Dr. Grace Hopper', meaning: 'authorship' };

/**
 * One API instance at a time, as a deploy replaces them: `@Transactional`
 * resolves its transaction host per process, so instances never overlap here.
 */
describe('signing key rotation', () => {
  const original = (): { kid: string; private_key: string } =>
    (
      JSON.parse(process.env.SIGNING_KEYS as string) as Array<{ kid: string; private_key: string }>
    )[0] as {
      kid: string;
      private_key: string;
    };

  async function withApi<T>(
    signingKeys: unknown[],
    work: (api: TestApi) => Promise<T>,
  ): Promise<T> {
    const api = await startApi({ SIGNING_KEYS: JSON.stringify(signingKeys) });
    try {
      return await work(api);
    } finally {
      await api.close();
    }
  }

  it('signs with the new key while signatures made before keep verifying, also once the old private key is gone', async () => {
    const old = original();
    const { tenant, before } = await withApi([{ ...old, active: true }], async (api) => {
      const tenant = await bootstrapTenant(api.http, 'Rotation Hospital');
      const created = await createCase(api.http, tenant.adminKey);
      const res = await api.http
        .post(`/cases/${created.id}/finalize`)
        .set('X-API-Key', tenant.adminKey)
        .send(SIGN)
        .expect(200);
      expect(res.body.signature.key_id).toBe(old.kid);
      return { tenant, before: created.id };
    });

    const after = await withApi(
      [testSigningKey('rotated-key-2', true), { ...old, active: false }],
      async (api) => {
        const created = await createCase(api.http, tenant.adminKey);
        const res = await api.http
          .post(`/cases/${created.id}/finalize`)
          .set('X-API-Key', tenant.adminKey)
          .send(SIGN)
          .expect(200);
        expect(res.body.signature.key_id).toBe('rotated-key-2');
        const keys = (await api.http.get('/signing-keys').expect(200)).body.keys as Array<{
          kid: string;
          status: string;
        }>;
        expect(keys.find((k) => k.kid === 'rotated-key-2')?.status).toBe('active');
        expect(keys.find((k) => k.kid === old.kid)?.status).toBe('retired');
        return created.id;
      },
    );

    // An instance that holds neither earlier private key still verifies both signatures.
    await withApi([testSigningKey('rotated-key-3', true)], async (api) => {
      for (const id of [before, after]) {
        const replay = await api.http
          .post(`/cases/${id}/verify-replay`)
          .set('X-API-Key', tenant.adminKey)
          .expect(200);
        expect(replay.body).toMatchObject({ ok: true });
      }
      const keys = (await api.http.get('/signing-keys').expect(200)).body.keys as Array<{
        kid: string;
        status: string;
      }>;
      expect(
        keys
          .filter((k) => [old.kid, 'rotated-key-2', 'rotated-key-3'].includes(k.kid))
          .map((k) => k.status),
      ).toEqual(['retired', 'retired', 'active']);
    });
  });

  it('refuses to register a kid again with a different public key', async () => {
    await expect(
      startApi({ SIGNING_KEYS: JSON.stringify([testSigningKey(original().kid, true)]) }).then(
        (api) => api.close(),
      ),
    ).rejects.toThrow(/registered with a different public key/);
  });
});
