import { Injectable } from '@nestjs/common';

/** A delivery as a worker sends it: claimed from the queue, or leased by the request that made it. */
export interface LeasedDelivery {
  tenant_id: string;
  id: string;
  endpoint_id: string;
  event_id: string;
  attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  event_type: string;
  payload: { type: string; timestamp: string; data: unknown };
  event_created_at: Date;
  /** A claimed delivery's: its event's seal, or, for an event without one, whether it was accepted unsealed. */
  seal?: Buffer | null;
  unsealed_accepted?: boolean | null;
}

/** The room of workers that can take nothing: deliveries wait for a claim. */
export const NO_ROOM: Readonly<{ leaseMs: number; count: number }> = { leaseMs: 0, count: 0 };

/** What this process's delivery workers offer the outbox writer. */
export interface WebhookTaker {
  /** The lease to give new deliveries of this tenant, in ms, and how many; none (0) when busy. */
  room(tenantId: string): { leaseMs: number; count: number };
  /** Deliveries leased in a transaction that has now committed: sent by this process. */
  take(deliveries: LeasedDelivery[]): void;
  /**
   * A committed change wrote these deliveries (case, endpoint) behind an earlier pending one
   * of each (which this process may be sending): claim them once that one is written back.
   */
  behind(tenantId: string, waiting: Array<{ case_id: string; endpoint_id: string }>): void;
}

/**
 * Between the outbox writer (in every module that raises events) and this
 * process's delivery workers (the webhooks module). Without a taker (a
 * process without workers) every delivery waits for a claim.
 */
@Injectable()
export class WebhookHandoff {
  private taker: WebhookTaker | undefined;

  attach(taker: WebhookTaker | undefined): void {
    this.taker = taker;
  }

  room(tenantId: string): { leaseMs: number; count: number } {
    return this.taker?.room(tenantId) ?? NO_ROOM;
  }

  take(deliveries: LeasedDelivery[]): void {
    this.taker?.take(deliveries);
  }

  behind(tenantId: string, waiting: Array<{ case_id: string; endpoint_id: string }>): void {
    this.taker?.behind(tenantId, waiting);
  }
}
