import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Response } from 'express';
import { map, type Observable } from 'rxjs';
import { CaseDto } from './dto/case.dto';

/** A single case goes out with its version as a strong ETag, for If-Match on PATCH. */
@Injectable()
export class CaseEtagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((body: unknown) => {
        if (body instanceof CaseDto) {
          context.switchToHttp().getResponse<Response>().setHeader('ETag', `"${body.version}"`);
        }
        return body;
      }),
    );
  }
}
