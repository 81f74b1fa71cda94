import type { Request, Response } from 'express';

/** A request whose response went out (`status`), or that the client abandoned first (499). */
export interface FinishedRequest {
  readonly req: Request;
  readonly res: Response;
  readonly status: number;
  /** When the request arrived, in milliseconds since the epoch. */
  readonly startedAt: number;
  readonly durationMs: number;
}

/**
 * Work done once per request after its response (access log, metrics, request
 * log). The API's request pipeline calls every observer from one pair of
 * `finish`/`close` listeners instead of each registering its own.
 */
export type RequestObserver = (request: FinishedRequest) => void;
