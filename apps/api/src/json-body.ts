import { parse as parseContentType } from 'content-type';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { requestIdOf } from '@clincore/common/request-id';
import { type Problem, sendProblem, toProblem } from './problem-details.filter';

/** What a JSON body may hold. No protocol comes near these; generic inputs stay within 64 KiB. */
export const JSON_BODY_LIMITS = {
  /** Deeper than any request the API defines; deep enough for nested clinical inputs. */
  depth: 64,
  /** Members of one object. */
  membersPerObject: 1_000,
  /** Members and array items of the whole body. */
  values: 10_000,
} as const;

const JSON_TYPES = ['application/json', 'application/*+json'];
const REJECTED = 'clincore-rejected: ';

/**
 * The JSON body parser and its error handler: a charset other than UTF-8 is a
 * 415, malformed JSON a 400, an oversized body a 413, and what valid JSON may
 * carry but the API must not take (excessive nesting or size of structure,
 * NUL characters, prototype keys, lone surrogates, numbers that overflow to
 * Infinity) a 400, all as problem details.
 */
export function jsonBody(limitBytes: number): Array<RequestHandler | express.ErrorRequestHandler> {
  const parser = express.json({ limit: limitBytes, type: JSON_TYPES });
  return [
    utf8Only,
    (req: Request, res: Response, next: NextFunction) => {
      parser(req, res, (error?: unknown) => {
        if (error !== undefined) return next(error);
        // Checked on the parsed value, not on the bytes: what the handlers see is what counts.
        const refusal = req.body === undefined ? undefined : refuseJson(req.body);
        if (refusal === undefined) return next();
        next(Object.assign(new Error(`${REJECTED}${refusal.detail}`), refusal));
      });
    },
    bodyErrors,
  ];
}

/**
 * JSON exchanged between systems is UTF-8 (RFC 8259 §8.1). body-parser would
 * decode any `utf-*` charset; a body declared otherwise is refused before it
 * is read.
 */
function utf8Only(req: Request, _res: Response, next: NextFunction): void {
  const header = req.headers['content-type'];
  if (header === undefined || !req.is(JSON_TYPES)) return next();
  let charset: string | undefined;
  try {
    charset = parseContentType(header).parameters.charset;
  } catch {
    return next(); // a malformed header: body-parser answers it
  }
  if (charset === undefined || charset.toLowerCase() === 'utf-8') return next();
  next(
    Object.assign(
      new Error(
        `${REJECTED}The request body must be UTF-8 JSON: send Content-Type: application/json (with charset=utf-8 or no charset), not charset=${charset}.`,
      ),
      { status: 415, type: 'charset.unsupported' },
    ),
  );
}

interface Refusal {
  status: 400;
  type: string;
  detail: string;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * One pass over a parsed body, with its own stack (no recursion to exhaust),
 * that stops at the first thing refused. Linear in the body's size, and the
 * caps bound how much structure later stages (validation, canonical JSON,
 * jsonb) ever see.
 */
export function refuseJson(root: unknown): Refusal | undefined {
  const stack: Array<{ value: object; depth: number }> = [];
  let values = 0;
  const visit = (value: unknown, depth: number): Refusal | undefined => {
    if (typeof value === 'string') {
      const problem = textProblem(value);
      return problem
        ? refused('entity.parse.failed', `The request body holds ${problem}.`)
        : undefined;
    }
    // 1e400 parses to Infinity, which JSON (and the canonical JSON that is hashed and signed) cannot hold.
    if (typeof value === 'number' && !Number.isFinite(value))
      return refused(
        'entity.parse.failed',
        'The request body holds a number too large to represent (e.g. 1e400).',
      );
    if (typeof value === 'object' && value !== null) {
      if (depth > JSON_BODY_LIMITS.depth)
        return refused(
          'entity.too.deep',
          `The request body nests deeper than ${JSON_BODY_LIMITS.depth} levels.`,
        );
      stack.push({ value, depth });
    }
    return undefined;
  };
  let refusal = visit(root, 1);
  while (refusal === undefined && stack.length > 0) {
    const { value, depth } = stack.pop() as { value: object; depth: number };
    if (Array.isArray(value)) {
      values += value.length;
      if (values > JSON_BODY_LIMITS.values) return tooManyValues();
      for (const item of value as unknown[]) if ((refusal = visit(item, depth + 1))) break;
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > JSON_BODY_LIMITS.membersPerObject)
      return refused(
        'entity.too.complex',
        `An object in the request body has ${keys.length} members; at most ${JSON_BODY_LIMITS.membersPerObject} are accepted.`,
      );
    values += keys.length;
    if (values > JSON_BODY_LIMITS.values) return tooManyValues();
    for (const key of keys) {
      if (FORBIDDEN_KEYS.has(key))
        return refused('entity.parse.failed', `The request body holds the forbidden key "${key}".`);
      const problem = textProblem(key);
      if (problem) return refused('entity.parse.failed', `The request body holds ${problem}.`);
      if ((refusal = visit((value as Record<string, unknown>)[key], depth + 1))) break;
    }
  }
  return refusal;
}

function tooManyValues(): Refusal {
  return refused(
    'entity.too.complex',
    `The request body holds more than ${JSON_BODY_LIMITS.values} members and array items in all.`,
  );
}

function textProblem(text: string): string | undefined {
  if (!text.isWellFormed()) return 'a lone UTF-16 surrogate, which is not text';
  if (text.includes('\0')) return 'a NUL character, which is not accepted';
  return undefined;
}

function refused(type: string, detail: string): Refusal {
  return { status: 400, type, detail };
}

const DETAILS: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON.',
  'entity.too.large': 'The request body is larger than this server accepts.',
  'encoding.unsupported': 'The request body has an unsupported content encoding.',
  'encoding.invalid': 'The request body does not decode with its Content-Encoding.',
  'charset.unsupported': 'The request body must be UTF-8 JSON.',
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
