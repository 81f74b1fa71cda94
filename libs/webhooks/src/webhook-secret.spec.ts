import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import {
  mintWebhookSecret,
  signWebhook,
  WebhookSecretBox,
  WebhookSigningKeys,
} from './webhook-secret';

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

describe('signing keys', () => {
  const box = new WebhookSecretBox(randomBytes(32));

  it('sign as the secret they were opened from', () => {
    const keys = new WebhookSigningKeys(box);
    const secret = mintWebhookSecret();
    const sealed = box.seal(secret, 'tenant-a', 'endpoint-1');
    const body = '{"type":"webhook.test"}';
    expect(signWebhook(keys.keyOf(sealed, 'tenant-a', 'endpoint-1'), 'evt-1', 1, body)).toBe(
      signWebhook(secret, 'evt-1', 1, body),
    );
  });

  it('still refuse a sealed secret copied to another row, once its own row has been opened', () => {
    const keys = new WebhookSigningKeys(box);
    const sealed = box.seal(mintWebhookSecret(), 'tenant-a', 'endpoint-1');
    keys.keyOf(sealed, 'tenant-a', 'endpoint-1');
    expect(() => keys.keyOf(sealed, 'tenant-b', 'endpoint-1')).toThrow();
    expect(() => keys.keyOf(sealed, 'tenant-a', 'endpoint-2')).toThrow();
  });

  it('hold at most their bound, the least recently used going first', () => {
    const keys = new WebhookSigningKeys(box, 2);
    const [e1, e2, e3] = ['e1', 'e2', 'e3'].map((e) => box.seal(mintWebhookSecret(), 't', e)) as [
      string,
      string,
      string,
    ];
    const first = keys.keyOf(e1, 't', 'e1');
    const second = keys.keyOf(e2, 't', 'e2');
    expect(keys.keyOf(e1, 't', 'e1')).toBe(first); // used last: e2 is now the oldest
    keys.keyOf(e3, 't', 'e3');
    expect(keys.size).toBe(2);
    expect(keys.keyOf(e1, 't', 'e1')).toBe(first);
    expect(keys.keyOf(e2, 't', 'e2')).not.toBe(second);
  });
});
