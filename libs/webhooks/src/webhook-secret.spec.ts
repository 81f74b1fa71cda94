import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { mintWebhookSecret, signWebhook, WebhookSecretBox } from './webhook-secret';

describe('webhook secrets', () => {
  it('mints whsec_ + base64 of 32 random bytes', () => {
    const secret = mintWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(mintWebhookSecret()).not.toBe(secret);
  });

  it('signs as the Standard Webhooks reference library does', () => {
    const secret = mintWebhookSecret();
    const body = '{"type":"case.created","timestamp":"2026-01-01T00:00:00.000Z","data":{}}';
    expect(signWebhook(secret, 'evt-1', 1_767_225_600, body)).toBe(
      new Webhook(secret).sign('evt-1', new Date(1_767_225_600_000), body),
    );
  });

  it('seals a secret that only its own row opens', () => {
    const box = new WebhookSecretBox(randomBytes(32));
    const secret = mintWebhookSecret();
    const sealed = box.seal(secret, 'tenant-a', 'endpoint-1');
    expect(sealed).not.toContain(secret.slice(6));
    expect(box.open(sealed, 'tenant-a', 'endpoint-1')).toBe(secret);
    expect(() => box.open(sealed, 'tenant-b', 'endpoint-1')).toThrow();
    expect(() =>
      new WebhookSecretBox(randomBytes(32)).open(sealed, 'tenant-a', 'endpoint-1'),
    ).toThrow();
  });
});
