import { type ArgumentMetadata, ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';
import {
  type ClassConstructor,
  type ClassTransformOptions,
  instanceToPlain,
  plainToInstance,
} from 'class-transformer';
import { getMetadataStorage } from 'class-validator';
import { rawJsonProperties } from '@clincore/common/raw-json';
import { RequestValidationException } from '@clincore/common/request-validation.exception';

/** Names JSON.parse and the query parser accept that no DTO may take (prototype pollution). */
const REFUSED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Nest's ValidationPipe, made exact about member names: what a client sends
 * reaches the handler as sent, or is refused with a reason.
 *
 * - `@RawJson()` properties bypass class-transformer (see raw-json.ts).
 * - class-transformer silently drops members named like Object.prototype's,
 *   and class-validator's whitelist misses some of them (it looks names up
 *   in a plain object, where `hasOwnProperty` is found): an undeclared member
 *   with such a name is refused here, like any other undeclared member.
 * - `__proto__`, `constructor` and `prototype` are refused, in a query as
 *   in a body, where Nest would strip them without a word.
 */
export class ExactValidationPipe extends ValidationPipe {
  private readonly declared = new WeakMap<object, ReadonlySet<string>>();

  constructor(options: ValidationPipeOptions) {
    super({
      ...options,
      transformerPackage: { plainToInstance: exactPlainToInstance, classToPlain: instanceToPlain },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const refused = this.refusedMembers(value, metadata.metatype);
    let transformed: unknown;
    try {
      transformed = await super.transform(value, metadata);
    } catch (error) {
      if (refused && error instanceof RequestValidationException)
        throw new RequestValidationException({ ...error.fieldErrors, ...refused });
      if (error instanceof RequestValidationException && isMissingBody(value, metadata))
        throw new RequestValidationException(error.fieldErrors ?? {}, MISSING_BODY);
      throw error;
    }
    if (refused) throw new RequestValidationException(refused);
    return transformed;
  }

  private refusedMembers(
    value: unknown,
    metatype: ArgumentMetadata['metatype'],
  ): Record<string, string[]> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !metatype)
      return undefined;
    let refused: Record<string, string[]> | undefined;
    for (const name of Object.keys(value)) {
      if (
        REFUSED_NAMES.has(name) ||
        (name in Object.prototype && !this.isDeclared(metatype, name))
      ) {
        // No prototype: a member named __proto__ must be recorded, not set the prototype.
        refused ??= Object.create(null) as Record<string, string[]>;
        refused[name] = [`property ${name} should not exist`];
      }
    }
    return refused;
  }

  private isDeclared(metatype: object, name: string): boolean {
    let names = this.declared.get(metatype);
    if (!names) {
      names = new Set(
        getMetadataStorage()
          .getTargetValidationMetadatas(metatype as ClassConstructor<unknown>, '', true, false)
          .map((rule) => rule.propertyName),
      );
      this.declared.set(metatype, names);
    }
    return names.has(name);
  }
}

const MISSING_BODY =
  'The request body is missing: send a JSON object with Content-Type: application/json; errors lists the required members.';

/**
 * No body at all (nothing sent, or zero bytes): validated as `{}`, so a route
 * whose members are all optional takes it; one that requires members says
 * the body is missing rather than only listing them.
 */
function isMissingBody(value: unknown, metadata: ArgumentMetadata): boolean {
  return metadata.type === 'body' && value === undefined;
}

/** class-transformer without its walk through raw JSON properties, which keep the client's value. */
function exactPlainToInstance<T>(
  type: ClassConstructor<T>,
  plain: unknown,
  options?: ClassTransformOptions,
): T | T[] {
  const raw = rawJsonProperties(type);
  if (raw.length === 0 || typeof plain !== 'object' || plain === null || Array.isArray(plain))
    return plainToInstance(type, plain, options);
  const source = plain as Record<string, unknown>;
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(source)) if (!raw.includes(key)) rest[key] = source[key];
  const instance = plainToInstance(type, rest, options);
  for (const key of raw)
    if (Object.hasOwn(source, key)) Reflect.set(instance as object, key, source[key]);
  return instance;
}
