import type { IncomingHttpHeaders } from 'node:http';

/** The FHIR JSON media type (FHIR R4 §3.1.0.1.7); `fhirVersion=4.0` may follow it. */
export const FHIR_JSON = 'application/fhir+json';
/** The only FHIR version served; a `fhirVersion` parameter names its major.minor. */
export const FHIR_VERSION = '4.0.1';
/** Where the FHIR-only routes live (the CapabilityStatement). */
export const FHIR_BASE_PATH = '/fhir/R4';

interface MediaRange {
  type: string;
  q: number;
  fhirVersion?: string;
}

/** One Accept header's media ranges, lower-cased, with their weights (RFC 9110 §12.5.1). */
function mediaRanges(accept: string): MediaRange[] {
  return accept.split(',').flatMap((part) => {
    const [type = '', ...params] = part.split(';').map((piece) => piece.trim());
    if (type === '') return [];
    const range: MediaRange = { type: type.toLowerCase(), q: 1 };
    for (const param of params) {
      const [name = '', value = ''] = param.split('=').map((piece) => piece.trim());
      const unquoted = value.replace(/^"(.*)"$/, '$1');
      if (name.toLowerCase() === 'q')
        range.q = Number.isFinite(Number(unquoted)) ? Number(unquoted) : 0;
      if (name.toLowerCase() === 'fhirversion') range.fhirVersion = unquoted;
    }
    return [range];
  });
}

/** Whether a `fhirVersion` parameter (absent, "4.0" or "4.0.1") names the version served. */
function servesVersion(fhirVersion: string | undefined): boolean {
  return fhirVersion === undefined || FHIR_VERSION.startsWith(fhirVersion);
}

/**
 * What an Accept header asks of a route that answers JSON or FHIR:
 * - `fhir`: application/fhir+json weighs more than (or as much as, being the
 *   more specific) anything that matches application/json;
 * - `fhir-version`: it asks for FHIR, but only in a version not served (406);
 * - `json`: anything else, no Accept included (JSON stays the default).
 */
export function negotiateFhir(accept: string | undefined): 'fhir' | 'fhir-version' | 'json' {
  if (accept === undefined) return 'json';
  const ranges = mediaRanges(accept);
  const fhir = ranges.filter((range) => range.type === FHIR_JSON && range.q > 0);
  if (fhir.length === 0) return 'json';
  const json = Math.max(
    0,
    ...ranges
      .filter((range) => ['application/json', 'application/*', '*/*'].includes(range.type))
      .map((range) => range.q),
  );
  const served = fhir.filter((range) => servesVersion(range.fhirVersion));
  const best = Math.max(0, ...served.map((range) => range.q));
  if (served.length > 0 && best >= json) return 'fhir';
  if (served.length === 0 && json === 0) return 'fhir-version';
  return 'json';
}

/**
 * Whether an error on this request is answered as a FHIR OperationOutcome:
 * the client accepts or sends FHIR JSON, or the path is under /fhir/.
 */
export function isFhirRequest(request: {
  headers: IncomingHttpHeaders;
  path?: string;
  url?: string;
}): boolean {
  const path = request.path ?? request.url ?? '';
  if (path.startsWith('/fhir/')) return true;
  const contentType = request.headers['content-type'];
  if (
    typeof contentType === 'string' &&
    contentType.split(';')[0]?.trim().toLowerCase() === FHIR_JSON
  )
    return true;
  const accept = request.headers.accept;
  return (
    accept !== undefined &&
    mediaRanges(accept).some((range) => range.type === FHIR_JSON && range.q > 0)
  );
}
