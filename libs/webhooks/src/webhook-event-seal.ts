import {
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';

/** What a seal covers: everything of an event that reaches a partner. */
export interface SealedEventFields {
  tenantId: string;
  eventId: string;
  type: string;
  /** The payload as RFC 8785 canonical JSON: the same text before and after jsonb. */
  payload: string;
}

/**
 * Webhook events are sealed by the API that writes them: HMAC-SHA256 under a
 * key derived from WEBHOOK_SECRET_KEY, which the database never holds. The
 * app role must be able to insert events (the outbox is written in the
 * change's transaction), so without a seal someone holding its login could
 * plant an event and have the workers sign it with the endpoint's secret as
 * the server's own. A claimed delivery is sent only when its event's seal
 * checks out (docs/architecture.md, the threat model).
 */
export class WebhookEventSeal {
  private readonly key: KeyObject;

  constructor(webhookSecretKey: Buffer) {
    // Its own key, not the one that seals endpoint secrets (one key, one use).
    this.key = createSecretKey(
      Buffer.from(
        hkdfSync('sha256', webhookSecretKey, Buffer.alloc(0), 'clincore webhook event seal v1', 32),
      ),
    );
  }

  seal(event: SealedEventFields): Buffer {
    // Ids are UUIDs and types the server's own names: no newline before the payload's text.
    return createHmac('sha256', this.key)
      .update(`v1\n${event.tenantId}\n${event.eventId}\n${event.type}\n${event.payload}`, 'utf8')
      .digest();
  }

  /** Whether `seal` is this server's over these fields (constant time). */
  verify(event: SealedEventFields, seal: Buffer | null | undefined): boolean {
    if (!seal || seal.length !== 32) return false;
    return timingSafeEqual(this.seal(event), seal);
  }
}

export const WEBHOOK_SECRET_KEY = Symbol('WEBHOOK_SECRET_KEY');
