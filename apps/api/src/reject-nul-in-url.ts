import type { NextFunction, Request, Response } from 'express';
import { requestIdOf } from '@clincore/common/request-id';
import { sendProblem } from './problem-details.filter';

/**
 * `%00` in a URL decodes to NUL, which PostgreSQL text cannot hold: as a query
 * value it reached the driver and failed there (a 500). The raw URL is
 * checked once, before routing; a NUL can arrive no other way (Node refuses
 * raw control characters in the request line, and bodies are checked by the
 * JSON parser).
 */
export function rejectNulInUrl(req: Request, res: Response, next: NextFunction): void {
  if (!req.url.includes('%00')) {
    next();
    return;
  }
  sendProblem(
    res,
    {
      type: 'urn:clincore:problem:invalid-request',
      title: 'Invalid request',
      status: 400,
      detail: 'The request URL holds a NUL character (%00), which is not accepted.',
    },
    req.originalUrl,
    requestIdOf(req),
  );
}
