import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { map, type Observable } from 'rxjs';
import type { CaseDto } from '@clincore/cases/dto/case.dto';
import { protocolRegistry } from '@clincore/cases/engine/protocol.registry';
import { caseBundle, hasFhirMapping } from './case-bundle';
import { FHIR_JSON, negotiateFhir } from './fhir-media';
import { FhirErrorCode, FhirException, noMapping } from './fhir.exception';

/** Marks an operation that answers a case as FHIR on request (documentFhir reads it). */
export const FHIR_CASE_EXTENSION = 'x-clincore-fhir-case';

/**
 * The route answers its case as a FHIR Bundle when Accept asks for
 * application/fhir+json (docs/fhir.md); JSON stays the default. Put it below
 * `@Idempotent()`: the FHIR interceptor then wraps the idempotency one, so a
 * stored response stays the case's JSON and a replay is translated as the
 * retry's own Accept asks.
 */
export const FhirCase = (): MethodDecorator =>
  applyDecorators(UseInterceptors(FhirCaseInterceptor), ApiExtension(FHIR_CASE_EXTENSION, true));

/**
 * Translates the handler's CaseDto into a Bundle (status, ETag and other
 * headers as the handler set them). What cannot be answered as FHIR is a 406
 * before the handler runs where the request says so (POST of a generic case,
 * a fhirVersion other than 4.0), so nothing is created that the client is
 * then refused; a generic case read as FHIR is a 406 after the read.
 */
@Injectable()
export class FhirCaseInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    // The answer depends on Accept: a cache must not serve one client's JSON to another's FHIR.
    http.getResponse<Response>().vary('Accept');
    const wanted = negotiateFhir(request.headers.accept);
    if (wanted === 'json') return next.handle();
    if (wanted === 'fhir-version')
      throw new FhirException(
        FhirErrorCode.VersionNotServed,
        'This server speaks FHIR R4 only: accept application/fhir+json with fhirVersion=4.0 (or none), or application/json.',
      );
    const protocol = requestedProtocol(request);
    if (protocol !== undefined && protocolRegistry.latest(protocol) && !hasFhirMapping(protocol))
      throw noMapping(protocol);
    const response = http.getResponse<Response>();
    return next.handle().pipe(
      map((body: unknown) => {
        const bundle = caseBundle(body as CaseDto);
        response.type(FHIR_JSON);
        return bundle;
      }),
    );
  }
}

/** The protocol a create names: in the JSON body, or as ?protocol= beside a FHIR body. */
function requestedProtocol(request: Request): string | undefined {
  if (request.method !== 'POST') return undefined;
  const fromBody = (request.body as { protocol?: unknown } | undefined)?.protocol;
  const fromQuery = request.query.protocol;
  const protocol = typeof fromBody === 'string' ? fromBody : fromQuery;
  return typeof protocol === 'string' ? protocol : undefined;
}
