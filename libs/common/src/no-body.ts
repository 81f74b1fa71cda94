import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UseGuards,
  applyDecorators,
} from '@nestjs/common';
import type { Request } from 'express';
import { RequestValidationException } from './request-validation.exception';

/**
 * A command whose path says everything refuses a body: a member sent to it
 * (`{"grace_period_seconds":0}` to rotate a webhook secret) would otherwise
 * be dropped without a word, and the client believe it applied. No body, or
 * `{}`, passes. Runs after the global guards, so the 400 is counted like any
 * refused call.
 */
@Injectable()
export class NoBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const body: unknown = context.switchToHttp().getRequest<Request>().body;
    if (body === undefined) return true;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const names = Object.keys(body);
      if (names.length === 0) return true;
      // No prototype: a member named __proto__ must be recorded, not set the prototype.
      const refused = Object.create(null) as Record<string, string[]>;
      for (const name of names) refused[name] = [`property ${name} should not exist`];
      throw new RequestValidationException(refused, NO_BODY);
    }
    throw new RequestValidationException({ body: [NO_BODY] }, NO_BODY);
  }
}

const NO_BODY = 'This request takes no body: send none, or {}.';

/** The route takes no request body (see NoBodyGuard). */
export const NoBody = (): MethodDecorator => applyDecorators(UseGuards(NoBodyGuard));
