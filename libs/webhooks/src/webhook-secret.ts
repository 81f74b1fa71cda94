import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';

const PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** A new signing secret as Standard Webhooks spells it: `whsec_` + base64 of 32 random bytes. */
export function mintWebhookSecret(): string {
  return PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/**
 * The Standard Webhooks signature of one delivery: HMAC-SHA256, keyed by the
 * secret's decoded bytes, over `<id>.<timestamp>.<body>`, as `v1,<base64>`.
 */
export function signWebhook(
  secret: string | KeyObject,
  id: string,
  timestamp: number,
  body: string,
): string {
  const key = typeof secret === 'string' ? secretBytes(secret) : secret;
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

/**
 * Endpoint secrets sealed at rest with AES-256-GCM. The server must be able to
 * compute HMACs, so a secret cannot be hashed like an API key; sealed, a copy
 * of the table (a backup, a replica) without the key signs nothing. The
 * tenant and endpoint are the additional data: a sealed secret moved to
 * another row no longer opens.
 */
export class WebhookSecretBox {
  constructor(private readonly key: Buffer) {}

  seal(secret: string, tenantId: string, endpointId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`${tenantId}/${endpointId}`));
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), sealed].map(encode).join('.');
  }

  open(sealed: string, tenantId: string, endpointId: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || !body) throw new Error('not a sealed webhook secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(`${tenantId}/${endpointId}`));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const body_ = Buffer.from(body, 'base64url');
    return Buffer.concat([decipher.update(body_), decipher.final()]).toString('utf8');
  }
}

/**
 * The signing keys of the endpoints a process delivers to, opened once per
 * sealed secret rather than once per delivery (an AES-GCM open and a key
 * import were a sixth of what sending a delivery cost the API). Kept by
 * tenant, endpoint and sealed text together, so a sealed secret copied to
 * another row still fails to open there; a rotated secret is a new entry,
 * and the least recently used entries go first once `max` are held.
 */
export class WebhookSigningKeys {
  private readonly keys = new Map<string, KeyObject>();

  constructor(
    private readonly box: WebhookSecretBox,
    private readonly max = 1024,
  ) {}

  keyOf(sealed: string, tenantId: string, endpointId: string): KeyObject {
    const id = `${tenantId}/${endpointId}/${sealed}`;
    let key = this.keys.get(id);
    if (key === undefined) {
      key = createSecretKey(secretBytes(this.box.open(sealed, tenantId, endpointId)));
      if (this.keys.size >= this.max) this.keys.delete(this.keys.keys().next().value as string);
    } else {
      this.keys.delete(id); // to the end: the least recently used goes first
    }
    this.keys.set(id, key);
    return key;
  }

  /** How many keys are held (tests). */
  get size(): number {
    return this.keys.size;
  }
}

function encode(part: string | Buffer): string {
  return typeof part === 'string' ? part : part.toString('base64url');
}

export const WEBHOOK_SECRET_BOX = Symbol('WEBHOOK_SECRET_BOX');
