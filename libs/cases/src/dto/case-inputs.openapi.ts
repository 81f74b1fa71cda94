import type {
  ApiBodyOptions,
  ApiPropertyOptions,
  ExamplesObject,
  ReferenceObject,
  SchemaObject,
} from '@nestjs/swagger';
import { GENERIC_MAX_BYTES } from '../engine/generic.protocol';
import type { FieldRule } from '../engine/input-schema';
import type { Protocol } from '../engine/protocol';
import { protocolRegistry } from '../engine/protocol.registry';

/**
 * The OpenAPI side of a case's `inputs`, generated from the protocols' own
 * field rules (engine/*.protocol.ts): one schema per protocol, the create body
 * chosen by `protocol`. Nothing here is written by hand per protocol, so the
 * document states exactly what validation enforces.
 */

const PROTOCOLS = protocolRegistry.current();

/** `news2` → `News2Inputs`: the component the protocol's inputs are described by. */
export function inputsSchemaName(protocol: Pick<Protocol, 'name'>): string {
  return `${pascal(protocol.name)}Inputs`;
}

function createBodySchemaName(protocol: Pick<Protocol, 'name'>): string {
  return `Create${pascal(protocol.name)}Case`;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function ref(name: string): ReferenceObject {
  return { $ref: `#/components/schemas/${name}` };
}

const SUBJECT_REF: SchemaObject = {
  type: 'string',
  minLength: 1,
  maxLength: 200,
  // The DTO's "must not be blank" rule, so that a client validating against the document agrees.
  pattern: '\\S',
  description:
    "The partner's reference for the patient or encounter (opaque to ClinCore); not only white space",
  example: 'MRN-000123',
};

function fieldSchema(rule: FieldRule, example: unknown): SchemaObject {
  const notes = [rule.description];
  let schema: SchemaObject;
  switch (rule.kind) {
    case 'integer':
      schema = { type: 'integer', minimum: rule.min, maximum: rule.max };
      if (rule.unit) notes.push(`Unit: ${rule.unit}.`);
      break;
    case 'decimal':
      // Not multipleOf 0.1: with binary floats, validators refuse 38.3 as a multiple of 0.1.
      schema = { type: 'number', minimum: rule.min, maximum: rule.max };
      if (rule.unit) notes.push(`Unit: ${rule.unit}.`);
      notes.push(`At most ${rule.decimals} decimal place${rule.decimals === 1 ? '' : 's'}.`);
      break;
    case 'boolean':
      schema = { type: 'boolean' };
      break;
    case 'enum':
      schema = {
        type: rule.values.every((value) => typeof value === 'number') ? 'integer' : 'string',
        enum: [...rule.values],
      };
      break;
  }
  return { ...schema, description: notes.join(' '), example };
}

function inputsSchema(protocol: Protocol): SchemaObject {
  const example = protocol.example;
  if (!protocol.fields) {
    return {
      type: 'object',
      additionalProperties: true,
      description: `${protocol.name}@${protocol.version}, any JSON object whose compact JSON is at most ${GENERIC_MAX_BYTES} bytes; no score (result is null).`,
      example,
    };
  }
  const fields = Object.entries(protocol.fields);
  return {
    type: 'object',
    description: `${protocol.name}@${protocol.version}, ${protocol.description}. Every field is required; no other field is taken. Point tables and the publication: docs/protocols.md.`,
    required: fields.map(([name]) => name),
    properties: Object.fromEntries(
      fields.map(([name, rule]) => [name, fieldSchema(rule, example[name])]),
    ),
    additionalProperties: false,
    example,
  };
}

function createBodySchema(protocol: Protocol): SchemaObject {
  return {
    type: 'object',
    description: `Open a ${protocol.name} case.`,
    required: ['protocol', 'subject_ref', 'inputs'],
    properties: {
      protocol: { type: 'string', enum: [protocol.name] },
      subject_ref: SUBJECT_REF,
      inputs: ref(inputsSchemaName(protocol)),
    },
    additionalProperties: false,
  };
}

/** The components: `<Protocol>Inputs` and `Create<Protocol>Case` for every protocol. */
export function caseInputSchemas(): Record<string, SchemaObject> {
  return Object.fromEntries(
    PROTOCOLS.flatMap((protocol) => [
      [inputsSchemaName(protocol), inputsSchema(protocol)],
      [createBodySchemaName(protocol), createBodySchema(protocol)],
    ]),
  );
}

function examplesOf(body: (protocol: Protocol) => object): ExamplesObject {
  return Object.fromEntries(
    PROTOCOLS.map((protocol) => [
      protocol.name,
      { summary: protocol.description, value: body(protocol) },
    ]),
  );
}

/** POST /cases: one body per protocol, told apart by `protocol`. */
export const CREATE_CASE_BODY: ApiBodyOptions = {
  schema: {
    oneOf: PROTOCOLS.map((protocol) => ref(createBodySchemaName(protocol))),
    discriminator: {
      propertyName: 'protocol',
      mapping: Object.fromEntries(
        PROTOCOLS.map((protocol) => [protocol.name, ref(createBodySchemaName(protocol)).$ref]),
      ),
    },
  },
  examples: examplesOf((protocol) => ({
    protocol: protocol.name,
    subject_ref: SUBJECT_REF.example as string,
    inputs: protocol.example,
  })),
};

/**
 * Any protocol's inputs. `anyOf`, not `oneOf`: generic takes every object, so
 * a NEWS2 set matches two schemas; which one applies is the case's protocol.
 */
export const ANY_PROTOCOL_INPUTS: ApiPropertyOptions = {
  anyOf: PROTOCOLS.map((protocol) => ref(inputsSchemaName(protocol))),
  description: "The inputs, valid for the case's protocol (the schema named after it)",
};

/** PATCH /cases/{id}: the complete new inputs, for the protocol the case was opened with. */
export const UPDATE_CASE_BODY: ApiBodyOptions = {
  schema: {
    type: 'object',
    required: ['inputs'],
    properties: {
      inputs: {
        ...(ANY_PROTOCOL_INPUTS as SchemaObject),
        description:
          "The complete new inputs (they replace the old ones; no partial update), valid for the case's protocol: News2Inputs for a news2 case, and so on",
      },
    },
    additionalProperties: false,
  },
  examples: examplesOf((protocol) => ({ inputs: protocol.example })),
};
