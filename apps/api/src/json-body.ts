import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { requestIdOf } from '@clincore/common/request-id';
import { type Problem, sendProblem, toProblem } from './problem-details.filter';

/** Deeper than any request the API defines; deep enough for nested clinical inputs. */
export const MAX_JSON_DEPTH = 64;

const REJECTED = 'clincore-rejected: ';

/**
 * The JSON body parser and its error handler: malformed JSON is a 400, an
 * oversized body a 413, and what valid JSON may carry but the API must not
 * take (excessive nesting, NUL characters, prototype keys, numbers that
 * overflow to Infinity) a 400, all as
 * problem details.
 */
export function jsonBody(limitBytes: number): [RequestHandler, express.ErrorRequestHandler] {
  return [
    express.json({
      limit: limitBytes,
      type: ['application/json', 'application/*+json'],
      verify: rejectDeepJson,
      reviver: rejectUnsafeJson,
    }),
    bodyErrors,
  ];
}

/**
 * Validators and transformers recurse through a body: nesting deep enough to
 * exhaust the stack there must be refused before it is parsed.
 */
function rejectDeepJson(_req: unknown, _res: unknown, body: Buffer): void {
  if (jsonDepth(body) > MAX_JSON_DEPTH) {
    throw Object.assign(
      new Error(`${REJECTED}The request body nests deeper than ${MAX_JSON_DEPTH} levels.`),
      { status: 400, type: 'entity.too.deep' },
    );
  }
}

/** Deepest object/array nesting of raw JSON text, ignoring brackets inside strings. */
export function jsonDepth(body: Buffer): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < body.length; i += 1) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x7b || byte === 0x5b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth -= 1;
    }
  }
  return deepest;
}

function rejectUnsafeJson(key: string, value: unknown): unknown {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
    throw new SyntaxError(`${REJECTED}The request body holds the forbidden key "${key}".`);
  }
  if (!key.isWellFormed() || (typeof value === 'string' && !value.isWellFormed())) {
    throw new SyntaxError(
      `${REJECTED}The request body holds a lone UTF-16 surrogate, which is not text.`,
    );
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    // 1e400 parses to Infinity, which JSON (and the canonical JSON that is hashed and signed) cannot hold.
    throw new SyntaxError(
      `${REJECTED}The request body holds a number too large to represent (e.g. 1e400).`,
    );
  }
  if (key.includes('\0') || (typeof value === 'string' && value.includes('\0'))) {
    throw new SyntaxError(
      `${REJECTED}The request body holds a NUL character, which is not accepted.`,
    );
  }
  return value;
}

const DETAILS: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON.',
  'entity.too.large': 'The request body is larger than this server accepts.',
  'encoding.unsupported': 'The request body has an unsupported content encoding.',
  'encoding.invalid': 'The request body does not decode with its Content-Encoding.',
  'charset.unsupported': 'The request body has an unsupported charset.',
};

function bodyErrors(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  sendProblem(res, bodyProblem(error), req.originalUrl, requestIdOf(req));
}

function bodyProblem(error: unknown): Problem {
  const { type, status, message, code } = error as {
    type?: unknown;
    status?: unknown;
    message?: unknown;
    code?: unknown;
  };
  if (typeof status !== 'number' || status < 400 || status >= 500) return toProblem(error);
  // A gzip/deflate/br body that does not decompress comes as a zlib error (code Z_* for
  // gzip and deflate, ERR_* for brotli) with status 400 but no type.
  const kind =
    typeof type === 'string'
      ? type
      : typeof code === 'string' && /^(Z_|ERR_)/.test(code)
        ? 'encoding.invalid'
        : undefined;
  if (kind === undefined) return toProblem(error);
  const rejected =
    typeof message === 'string' && message.startsWith(REJECTED)
      ? message.slice(REJECTED.length)
      : undefined;
  return {
    type: `urn:clincore:problem:${kind.replace(/\./g, '-')}`,
    title:
      status === 413
        ? 'Payload too large'
        : status === 415
          ? 'Unsupported media type'
          : 'Bad request',
    status,
    detail: rejected ?? DETAILS[kind] ?? 'The request body could not be read.',
  };
}
