import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;
const REQUEST_ID = Symbol('clincore.requestId');

type WithId = IncomingMessage & { [REQUEST_ID]?: string };

/**
 * The request's id: the caller's `X-Request-Id` when it is a sane token (so a
 * partner can correlate), otherwise a fresh UUID. Computed once per request and
 * shared by the logger, the CLS context and problem bodies.
 */
export function requestIdOf(req: IncomingMessage): string {
  const carrier = req as WithId;
  if (carrier[REQUEST_ID] === undefined) {
    const header = req.headers['x-request-id'];
    carrier[REQUEST_ID] =
      typeof header === 'string' && ACCEPTED.test(header) ? header : randomUUID();
  }
  return carrier[REQUEST_ID];
}
