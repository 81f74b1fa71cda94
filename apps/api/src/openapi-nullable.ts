import type { OpenAPIObject } from '@nestjs/swagger';

/**
 * @nestjs/swagger writes a nullable reference as `{ nullable: true, allOf:
 * [{ $ref }] }`. OpenAPI 3.0.3 says `nullable` only widens a `type` in the same
 * schema, so that schema does not allow null: strict validators refuse the
 * null the API sends. Rewritten as "the reference, or null", which validators
 * and client generators read alike.
 */
export function nullableReferences(document: OpenAPIObject): OpenAPIObject {
  visit(document.components?.schemas);
  visit(document.paths);
  return document;
}

const NULL_SCHEMA = { type: 'object', nullable: true, enum: [null] };

function visit(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) visit(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, unknown>;
  const allOf = schema.allOf;
  if (schema.nullable === true && Array.isArray(allOf) && allOf.length === 1) {
    delete schema.nullable;
    delete schema.allOf;
    delete schema.type;
    schema.anyOf = [allOf[0], NULL_SCHEMA];
  }
  for (const value of Object.values(schema)) visit(value);
}
