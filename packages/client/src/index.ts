import createFetchClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { components, operations, paths } from './schema.js';

/**
 * What the client reads: JSON and problem details. Some operations also answer
 * FHIR (application/fhir+json) on request; those bodies are typed by the
 * FhirBundle, OperationOutcome and CapabilityStatement schemas.
 */
type ReadMedia = 'application/json' | 'application/problem+json';

/**
 * The responses this client can read: one answered only in another media
 * type (FHIR's 406 to `Accept: application/fhir+json`, which this client
 * never sends; the FHIR CapabilityStatement; the metrics text) is left out,
 * so that `error` is problem details (openapi-fetch would otherwise type it
 * as the whole content map). Read those with `parseAs` and a type of your own.
 */
type Readable<Responses> = {
  [
    Status in keyof Responses as Responses[Status] extends { content: infer Content }
      ? Extract<keyof Content, ReadMedia> extends never
        ? never
        : Status
      : Status
  ]: Responses[Status];
};

/** An operation with only its readable responses; mapped member by member, so that openapi-fetch's helper types still accept the client. */
type ReadableOperation<Operation> = {
  [Member in keyof Operation]: Member extends 'responses'
    ? Readable<Operation[Member]>
    : Operation[Member];
};

type ReadablePaths = {
  [Path in keyof paths]: {
    [Method in keyof paths[Path]]: ReadableOperation<paths[Path][Method]>;
  };
};

export type ClinCoreClient = Client<ReadablePaths, ReadMedia>;

export interface ClinCoreClientOptions extends Omit<ClientOptions, 'headers'> {
  /** Where the API is served, e.g. `https://clincore.example` (no trailing `/docs`). */
  baseUrl: string;
  /** A tenant API key (`cc_…`), sent as `X-API-Key` on every request. */
  apiKey?: string;
  /** Headers sent on every request, e.g. `Authorization` for the operator routes. */
  headers?: Record<string, string>;
}

/**
 * A typed client for every operation of the OpenAPI document: paths, path and
 * query parameters, bodies and responses are checked by the compiler.
 *
 * ```ts
 * const api = createClient({ baseUrl: 'http://localhost:3000', apiKey: process.env.CLINCORE_API_KEY });
 * const { data, error } = await api.GET('/cases/{id}', { params: { path: { id } } });
 * ```
 *
 * Calls resolve to `{ data }` on a 2xx and `{ error }` (problem details) otherwise,
 * with the `response` alongside (status, `ETag`, `X-Quota-*`).
 */
export function createClient({
  apiKey,
  headers,
  ...options
}: ClinCoreClientOptions): ClinCoreClient {
  return createFetchClient<ReadablePaths, ReadMedia>({
    ...options,
    headers: apiKey === undefined ? headers : { ...headers, 'X-API-Key': apiKey },
  });
}
