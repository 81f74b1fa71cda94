import type { NextFunction, Request, Response } from 'express';
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
    rejectPrototypeQueryNames(req, res, next);
    return;
  }
  refuse(req, res, 'The request URL holds a NUL character (%00), which is not accepted.');
}

const PROTOTYPE_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A query parameter named `__proto__`, `constructor` or `prototype` is a 400
 * on every route, as the same name is in a body: routes without a query DTO
 * would otherwise ignore it without a word. Only URLs with a query are parsed.
 */
function rejectPrototypeQueryNames(req: Request, res: Response, next: NextFunction): void {
  const query = req.url.indexOf('?');
  if (query < 0) {
    next();
    return;
  }
  let refused: string | undefined;
  for (const name of new URLSearchParams(req.url.slice(query + 1)).keys()) {
    if (PROTOTYPE_NAMES.has(name.replace(/\[.*$/, ''))) refused = name;
  }
  if (refused === undefined) {
    next();
    return;
  }
  refuse(req, res, 'The request has invalid fields; see errors.', {
    [refused]: [`property ${refused} should not exist`],
  });
}

function refuse(
  req: Request,
  res: Response,
  detail: string,
  errors?: Record<string, string[]>,
): void {
  sendProblem(req, res, {
    type: 'urn:clincore:problem:invalid-request',
    title: 'Invalid request',
    status: 400,
    detail,
    ...(errors ? { errors } : {}),
  });
}
