import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import type { Request } from 'express';
import { catchError, type Observable, throwError } from 'rxjs';
import { protocolInQuery } from './fhir-import.exception';
import { fhirProtocols, locateErrors, sendsFhir, translateFhirCreate } from './fhir-import.service';

/**
 * Before the body is validated: a FHIR Bundle becomes the JSON body it stands
 * for, so the route, its validation and CasesService.create run exactly as
 * for JSON (idempotency, quota, audit, webhooks, signatures unchanged). The
 * Idempotency-Key fingerprint is taken earlier, over the Bundle as sent.
 */
@Injectable()
export class FhirImportInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    const protocol = (req.query as Record<string, unknown>).protocol;
    if (!sendsFhir(req)) {
      if (protocol !== undefined) throw protocolInQuery();
      return next.handle();
    }
    const translation = translateFhirCreate(protocol, req.body);
    req.body = translation.request;
    return next
      .handle()
      .pipe(catchError((error: unknown) => throwError(() => locateErrors(error, translation))));
  }
}

/** The route also takes a FHIR R4 Bundle, with the protocol in the query. */
export const AcceptsFhirBundle = (): MethodDecorator =>
  applyDecorators(
    UseInterceptors(FhirImportInterceptor),
    ApiQuery({
      name: 'protocol',
      required: false,
      enum: fhirProtocols(),
      description:
        'Only with Content-Type: application/fhir+json: the protocol that scores the Bundle (a JSON body names its protocol itself, and a JSON request with ?protocol is a 400). docs/fhir.md says which Observations each protocol reads.',
    }),
  );
