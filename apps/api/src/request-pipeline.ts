import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import { requestIdOf } from '@clincore/common/request-id';
import type { RequestObserver } from '@clincore/common/request-observer';
import { rejectNulInUrl } from './reject-nul-in-url';

export type HeaderSet = readonly (readonly [name: string, value: string])[];

/**
 * The headers helmet sets with these options, computed once. With static
 * options helmet's thirteen middlewares set the same headers on every
 * response; replaying them saves thirteen calls through the middleware chain
 * per request, and helmet stays the one place the policy is written.
 */
export function helmetHeaders(options: Readonly<HelmetOptions>): HeaderSet {
  // A directive computed per request (a CSP nonce) would be frozen into one value for every response.
  const csp = options.contentSecurityPolicy;
  const directives = typeof csp === 'object' ? Object.values(csp.directives ?? {}) : [];
  if (
    directives.some(
      (d) =>
        typeof d === 'function' || (Array.isArray(d) && d.some((v) => typeof v === 'function')),
    )
  )
    throw new Error('a CSP directive computed per request cannot be precomputed');
  const headers = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: number | string | readonly string[]): void {
      headers.set(name, String(value));
    },
    removeHeader(name: string): void {
      headers.delete(name);
    },
  };
  const state = { called: false };
  helmet(options)(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error?: unknown) => {
      if (error !== undefined && error !== null) throw new Error('helmet failed', { cause: error });
      state.called = true;
    },
  );
  // A helmet that depends on the request (a CSP nonce, say) would not call back synchronously.
  if (!state.called)
    throw new Error('helmet did not finish synchronously: its headers cannot be precomputed');
  return [...headers];
}

/**
 * What every request goes through before routing, as one middleware: the
 * request id header, the security headers, one `finish`/`close` listener pair
 * that calls each observer once (499 when the client went away first), and the
 * NUL check on the URL.
 */
export function requestPipeline(
  headers: HeaderSet,
  observers: readonly RequestObserver[],
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const startedAt = Date.now();
    const started = performance.now();
    res.setHeader('X-Request-Id', requestIdOf(req));
    for (const [name, value] of headers) res.setHeader(name, value);
    const finished = (): void => {
      res.off('finish', finished);
      res.off('close', finished);
      const done = {
        req,
        res,
        status: res.writableFinished ? res.statusCode : 499,
        startedAt,
        durationMs: performance.now() - started,
      };
      for (const observe of observers) observe(done);
    };
    res.on('finish', finished);
    res.on('close', finished);
    rejectNulInUrl(req, res, next);
  };
}
