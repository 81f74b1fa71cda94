import { parse as parseContentType } from 'content-type';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { FHIR_JSON, FHIR_VERSION } from '@clincore/fhir/fhir-media';
import { describeBytes } from './byte-size';
import { type Problem, sendProblem, toProblem } from './problem-details.filter';

/** What a JSON body may hold. No protocol comes near these; generic inputs stay within 64 KiB. */
export interface JsonBodyLimits {
  depth: number;
  membersPerObject: number;
  values: number;
}

export const JSON_BODY_LIMITS: Readonly<JsonBodyLimits> = {
  /** Deeper than any request the API defines; deep enough for nested clinical inputs. */
  depth: 64,
  /** Members of one object. */
  membersPerObject: 1_000,
  /** Members and array items of the whole body. */
  values: 10_000,
};

const JSON_TYPES = ['application/json', 'application/*+json'];
/**
 * The routes that read a FHIR body (`@AcceptsFhirBundle()`), as METHOD path.
 * Elsewhere application/fhir+json is a 415: read as plain JSON, a Bundle
 * would only be refused member by member.
 */
const FHIR_BODY_ROUTES = new Set(['POST /cases']);
const REJECTED = 'clincore-rejected: ';

/**
 * The JSON body parser and its error handler: a body that is not JSON (no or
 * another Content-Type, form encoding) or not UTF-8 is a 415, malformed JSON
 * a 400, an oversized body a 413 naming the limit, and what valid JSON may
 * carry but the API must not take (excessive nesting or size of structure,
 * NUL characters, prototype keys, lone surrogates, numbers that overflow to
 * Infinity) a 400, all as problem details. No body at all (zero bytes) is
 * left undefined: the route decides whether it needs one.
 */
export function jsonBody(limitBytes: number): Array<RequestHandler | express.ErrorRequestHandler> {
  const parser = express.json({ limit: limitBytes, type: JSON_TYPES, verify: refuseJsonBytes });
  return [
    jsonUtf8Only,
    (req: Request, res: Response, next: NextFunction) => {
      if (!carriesContent(req)) return next();
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
 * Whether the request sends content the API reads: a Content-Length above
 * zero, or a chunked body (whose length is unknown until read), on any method
 * but GET and HEAD. Zero bytes are no body, whatever the Content-Type says.
 */
function carriesContent(req: Request): boolean {
  // Content on GET and HEAD has no meaning (RFC 9110 §9.3.1): no route reads it, so none refuses it.
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > 0;
}

/**
 * Every body the API reads is JSON; anything else (no Content-Type, text,
 * a form) is refused before it is read, as a 415 that names the media type
 * to send, rather than read as no body and answered with the members it
 * lacks. JSON exchanged between systems is UTF-8 (RFC 8259 §8.1): body-parser
 * would decode any `utf-*` charset, so a JSON body declared otherwise is
 * refused too.
 */
function jsonUtf8Only(req: Request, _res: Response, next: NextFunction): void {
  if (!carriesContent(req)) return next();
  const header = req.headers['content-type'];
  if (header === undefined || !req.is(JSON_TYPES)) return next(notJson(header));
  if (req.is(FHIR_JSON) && !FHIR_BODY_ROUTES.has(routeOf(req))) return next(fhirNotRead(req));
  let parameters: Record<string, string>;
  try {
    parameters = parseContentType(header).parameters;
  } catch {
    return next(); // a malformed header: body-parser answers it
  }
  // Another FHIR version's resources differ in shape and meaning: never read as R4.
  const fhirVersion = req.is(FHIR_JSON) ? parameters.fhirversion : undefined;
  if (fhirVersion !== undefined && !FHIR_VERSION.startsWith(fhirVersion))
    return next(fhirVersionNotRead(fhirVersion));
  const charset = parameters.charset;
  if (charset === undefined || charset.toLowerCase() === 'utf-8') return next();
  next(notUtf8(charset));
}

/** As Express routes it: case-insensitive, a trailing slash ignored. */
function routeOf(req: Request): string {
  return `${req.method} ${req.path.toLowerCase().replace(/(.)\/$/, '$1')}`;
}

function fhirNotRead(req: Request): Error {
  return Object.assign(
    new Error(
      `${REJECTED}${req.method} ${req.path} does not read FHIR: send its body as application/json. A FHIR Bundle opens a case at POST /cases?protocol=<name>.`,
    ),
    { status: 415, type: 'media.type.unsupported' },
  );
}

function fhirVersionNotRead(version: string): Error {
  return Object.assign(
    new Error(
      `${REJECTED}The request body is FHIR ${version}; this server reads FHIR R4 only: send application/fhir+json with fhirVersion=4.0 (or none).`,
    ),
    { status: 415, type: 'media.type.unsupported' },
  );
}

export function notUtf8(charset: string): Error {
  return Object.assign(
    new Error(
      `${REJECTED}The request body must be UTF-8 JSON: send Content-Type: application/json (with charset=utf-8 or no charset), not charset=${charset}.`,
    ),
    { status: 415, type: 'charset.unsupported' },
  );
}

export function notJson(header: string | undefined): Error {
  const send = 'send JSON with Content-Type: application/json (application/*+json is read too)';
  let type: string | undefined;
  try {
    type = header === undefined ? undefined : parseContentType(header).type;
  } catch {
    // malformed: named as such below
  }
  const sent =
    header === undefined
      ? 'The request has a body but no Content-Type'
      : type === undefined
        ? 'The request body has a malformed Content-Type'
        : `The request body is ${type}, which this API does not read`;
  return Object.assign(new Error(`${REJECTED}${sent}: ${send}.`), {
    status: 415,
    type: 'media.type.unsupported',
  });
}

/**
 * The structure caps, counted on the bytes before JSON.parse builds anything:
 * parsing 30,000 members into an object costs some 25 ms of event loop, the
 * scan about one. Exact for UTF-8, the only charset let through (a quote or
 * backslash byte never occurs inside a multi-byte character); the walk over
 * the parsed value stays the authority.
 */
function refuseJsonBytes(_req: unknown, _res: unknown, body: Buffer): void {
  const refusal = refuseBareValue(body) ?? refuseJsonStructure(body);
  if (refusal) throw Object.assign(new Error(`${REJECTED}${refusal.detail}`), refusal);
}

/**
 * A body that is valid JSON but no object or array (`null`, `"x"`, `1`): the
 * parser refuses it too, as not JSON at all; said as it is.
 */
function refuseBareValue(body: Buffer): Refusal | undefined {
  let i = 0;
  while (
    i < body.length &&
    (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)
  )
    i += 1;
  const first = body[i];
  if (first === undefined || first === 0x7b || first === 0x5b) return undefined;
  return refused('entity.parse.failed', 'The request body must be a JSON object.');
}

/** Depth, members per object and values in all of raw JSON text, ignoring what is inside strings. */
export function refuseJsonStructure(
  body: Buffer,
  limits: Readonly<JsonBodyLimits> = JSON_BODY_LIMITS,
): Refusal | undefined {
  // Per open container: whether it is an array, and its members or items so far;
  // per open object, the member names seen and whether a name comes next.
  const isArray: boolean[] = [];
  const counts: number[] = [];
  const names: Array<Set<string> | undefined> = [];
  const nameNext: boolean[] = [];
  let values = 0;
  for (let i = 0; i < body.length; i += 1) {
    const byte = body[i] as number;
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    const top = counts.length - 1;
    // An array's first item, whatever it is; the next ones each follow a comma.
    const startsItem =
      top >= 0 && isArray[top] && (byte === 0x2c || (counts[top] === 0 && byte !== 0x5d));
    // A colon ends a member's name.
    if (startsItem || (byte === 0x3a && top >= 0 && !isArray[top])) {
      counts[top] = (counts[top] as number) + 1;
      values += 1;
      if (values > limits.values) return tooManyValues(limits);
      if (!isArray[top] && counts[top] > limits.membersPerObject) return tooManyMembers(limits);
    }
    if (byte === 0x2c && top >= 0 && !isArray[top]) nameNext[top] = true;
    if (byte === 0x22) {
      const open = i;
      i = closingQuote(body, i);
      if (i < 0) return undefined; // unterminated: the parser says so
      const seen = names[top];
      if (seen !== undefined && nameNext[top]) {
        nameNext[top] = false;
        const name = memberName(body, open, i);
        if (name !== undefined && seen.has(name)) return duplicateMember(name);
        if (name !== undefined) seen.add(name);
      }
    } else if (byte === 0x2d || (byte >= 0x30 && byte <= 0x39)) {
      const end = numberEnd(body, i);
      const inexact = inexactNumber(body, i, end);
      if (inexact !== undefined) return inexact;
      i = end - 1;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (counts.length >= limits.depth) return tooDeep(limits);
      isArray.push(byte === 0x5b);
      counts.push(0);
      names.push(byte === 0x7b ? new Set() : undefined);
      nameNext.push(byte === 0x7b);
    } else if (byte === 0x7d || byte === 0x5d) {
      isArray.pop();
      counts.pop();
      names.pop();
      nameNext.pop();
    }
  }
  return undefined;
}

/** A member name as JSON.parse reads it (escapes decoded); undefined when malformed (the parser says so). */
function memberName(body: Buffer, open: number, close: number): string | undefined {
  const raw = body.toString('utf8', open + 1, close);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}

/**
 * A name twice in one object: JSON.parse keeps the last value, so what would
 * be stored and signed is not all that was sent, and which value was meant
 * is a guess (RFC 8259 §4: names SHOULD be unique). Refused, named.
 */
function duplicateMember(name: string): Refusal {
  const shown = name.length > 40 ? `${name.slice(0, 40)}…` : name;
  return refused(
    'entity.duplicate.member',
    `The request body has the member ${JSON.stringify(shown)} twice in one object; send each name once (RFC 8259 §4), since which value was meant cannot be told.`,
  );
}

function numberEnd(body: Buffer, start: number): number {
  let end = start + 1;
  while (end < body.length && isNumberByte(body[end] as number)) end += 1;
  return end;
}

/** Digits, sign, point and exponent: the bytes of a JSON number. */
function isNumberByte(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2b ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x65 ||
    byte === 0x45
  );
}

/**
 * A number JSON.parse would change: more digits than a double holds
 * (12345678901234567890 becomes …7000), or beyond its range (1e-400 becomes
 * 0, 1e400 Infinity). Stored, scored and signed, it would not be what was
 * sent, so it is refused; up to 15 significant digits without an exponent
 * always come through exactly, and skip the check.
 */
function inexactNumber(body: Buffer, start: number, end: number): Refusal | undefined {
  let digits = 0;
  for (let i = start; i < end; i += 1) {
    const byte = body[i] as number;
    if (byte === 0x65 || byte === 0x45) digits = Infinity;
    else if (byte >= 0x30 && byte <= 0x39) digits += 1;
  }
  if (digits <= 15) return undefined;
  const text = body.toString('latin1', start, end);
  const parsed = Number(text);
  if (Number.isNaN(parsed)) return undefined; // not a number at all: the parser says so
  if (!Number.isFinite(parsed)) return numberTooLarge();
  if (decimalOf(text) === decimalOf(String(parsed))) return undefined;
  return refused(
    'entity.inexact.number',
    `The request body holds the number ${text.length > 40 ? `${text.slice(0, 40)}…` : text}, which JSON numbers here (64-bit floating point) cannot hold exactly; send it with fewer digits, or as a string.`,
  );
}

/** A decimal number's value as text: sign, significant digits, exponent ("-12e3" for -0.12e3). */
function decimalOf(text: string): string {
  const negative = text.startsWith('-');
  const e = text.search(/[eE]/);
  const mantissa = text.slice(negative ? 1 : 0, e < 0 ? text.length : e);
  const dot = mantissa.indexOf('.');
  const whole = dot < 0 ? mantissa : mantissa.slice(0, dot);
  const all = whole + (dot < 0 ? '' : mantissa.slice(dot + 1));
  const first = all.search(/[1-9]/);
  if (first < 0) return '0';
  const exponent = whole.length - first + (e < 0 ? 0 : Number(text.slice(e + 1)));
  return `${negative ? '-' : ''}${all.slice(first).replace(/0+$/, '')}e${exponent}`;
}

/** Where the string opened at `open` ends; -1 if it does not. indexOf keeps long strings cheap. */
function closingQuote(body: Buffer, open: number): number {
  for (let at = body.indexOf(0x22, open + 1); at >= 0; at = body.indexOf(0x22, at + 1)) {
    let backslashes = 0;
    while (body[at - 1 - backslashes] === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
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
export function refuseJson(
  root: unknown,
  limits: Readonly<JsonBodyLimits> = JSON_BODY_LIMITS,
): Refusal | undefined {
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
    if (typeof value === 'number' && !Number.isFinite(value)) return numberTooLarge();
    if (typeof value === 'object' && value !== null) {
      if (depth > limits.depth) return tooDeep(limits);
      stack.push({ value, depth });
    }
    return undefined;
  };
  let refusal = visit(root, 1);
  while (refusal === undefined && stack.length > 0) {
    const { value, depth } = stack.pop() as { value: object; depth: number };
    if (Array.isArray(value)) {
      values += value.length;
      if (values > limits.values) return tooManyValues(limits);
      for (const item of value as unknown[]) if ((refusal = visit(item, depth + 1))) break;
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > limits.membersPerObject) return tooManyMembers(limits);
    values += keys.length;
    if (values > limits.values) return tooManyValues(limits);
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

function numberTooLarge(): Refusal {
  return refused(
    'entity.parse.failed',
    'The request body holds a number too large to represent (e.g. 1e400).',
  );
}

function tooDeep(limits: Readonly<JsonBodyLimits>): Refusal {
  return refused('entity.too.deep', `The request body nests deeper than ${limits.depth} levels.`);
}

function tooManyMembers(limits: Readonly<JsonBodyLimits>): Refusal {
  return refused(
    'entity.too.complex',
    `An object in the request body has more than ${limits.membersPerObject} members, the most accepted.`,
  );
}

function tooManyValues(limits: Readonly<JsonBodyLimits>): Refusal {
  return refused(
    'entity.too.complex',
    `The request body holds more than ${limits.values} members and array items in all.`,
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
  sendProblem(req, res, bodyProblem(error));
}

export function bodyProblem(error: unknown): Problem {
  const { type, status, message, code, limit } = error as {
    type?: unknown;
    status?: unknown;
    message?: unknown;
    code?: unknown;
    limit?: unknown;
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
  const specific =
    typeof message === 'string' && message.startsWith(REJECTED)
      ? message.slice(REJECTED.length)
      : kind === 'entity.too.large' && typeof limit === 'number'
        ? `The request body is larger than this server accepts: at most ${describeBytes(limit)}.`
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
    detail: specific ?? DETAILS[kind] ?? 'The request body could not be read.',
  };
}
