import fc from 'fast-check';
import { JSON_BODY_LIMITS, refuseJson, refuseJsonStructure } from './json-body';

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = i % 2 === 0 ? [value] : { a: value };
  return value;
};

describe('refuseJson', () => {
  it.each([
    [{}, undefined],
    [{ a: [1, { b: [] }], s: 'text', n: -0.5 }, undefined],
    [{ toString: 1, valueOf: { hasOwnProperty: [] } }, undefined],
  ])('accepts %j', (value, expected) => {
    expect(refuseJson(value)).toBe(expected);
  });

  it('counts nesting on the parsed value: 64 levels pass, 65 do not', () => {
    expect(refuseJson(nested(JSON_BODY_LIMITS.depth))).toBeUndefined();
    expect(refuseJson(nested(JSON_BODY_LIMITS.depth + 1))).toMatchObject({
      type: 'entity.too.deep',
    });
    // Far deeper than any stack: still a refusal, not a RangeError.
    expect(refuseJson(nested(200_000))).toMatchObject({ type: 'entity.too.deep' });
  });

  it('caps the members of one object and the values of the whole body', () => {
    const members = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(refuseJson(members(JSON_BODY_LIMITS.membersPerObject))).toBeUndefined();
    expect(refuseJson(members(JSON_BODY_LIMITS.membersPerObject + 1))).toMatchObject({
      type: 'entity.too.complex',
      detail: expect.stringContaining(`more than ${JSON_BODY_LIMITS.membersPerObject} members`),
    });
    const items = (n: number) => ({ a: Array.from({ length: n }, () => 0) });
    // The wrapping object's one member counts too.
    expect(refuseJson(items(JSON_BODY_LIMITS.values - 1))).toBeUndefined();
    expect(refuseJson(items(JSON_BODY_LIMITS.values))).toMatchObject({
      type: 'entity.too.complex',
    });
    const spread = Array.from({ length: 20 }, () => members(JSON_BODY_LIMITS.values / 20));
    expect(refuseJson(spread)).toMatchObject({ type: 'entity.too.complex' });
  });

  it.each([
    [
      { a: Object.defineProperty({}, '__proto__', { value: 1, enumerable: true }) },
      /forbidden key "__proto__"/,
    ],
    [JSON.parse('{"x":{"__proto__":{"admin":true}}}'), /forbidden key "__proto__"/],
    [{ x: [{ constructor: 1 }] }, /forbidden key "constructor"/],
    [{ prototype: 1 }, /forbidden key "prototype"/],
    [{ a: ['\ud800'] }, /lone UTF-16 surrogate/],
    [{ ['\udc00']: 1 }, /lone UTF-16 surrogate/],
    [{ a: 'x\0y' }, /NUL/],
    [{ ['a\0']: 1 }, /NUL/],
    [{ a: [Infinity] }, /too large/],
  ])('refuses %j anywhere in the body', (value, detail) => {
    expect(refuseJson(value)?.detail).toMatch(detail);
  });
});

describe('refuseJsonStructure (the scan of the bytes before parsing)', () => {
  const small = { depth: 4, membersPerObject: 3, values: 12 };
  const text = fc.string({ unit: 'grapheme', maxLength: 6 });
  const { value: jsonValue } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'medium' },
      fc.constantFrom(null, true, false, 0, -1.5e300),
      text,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(text, tie('value'), { maxKeys: 5 }),
    ),
  }));

  it('refuses what the walk over the parsed value refuses and nothing else, whatever the spacing and strings', () => {
    fc.assert(
      fc.property(jsonValue, fc.constantFrom(undefined, 1, '\t', ' \n '), (value, space) => {
        const bytes = Buffer.from(JSON.stringify(value, null, space), 'utf8');
        // Which cap a body breaks first may differ (the walk goes depth first from the end).
        expect(refuseJsonStructure(bytes, small) !== undefined).toBe(
          refuseJson(value, small) !== undefined,
        );
      }),
      { numRuns: 2_000, seed: 180_006 },
    );
  });

  it.each([
    ['{"a":"[[[[{{{{:,,,,"}', undefined],
    ['{"a":"\\"[[[[[[["}', undefined],
    ['[[[[]]]]', undefined],
    ['[[[[[]]]]]', 'entity.too.deep'],
    ['{"a":1,"b":2,"c":3}', undefined],
    ['{"a":1,"b":2,"c":3,"d":4}', 'entity.too.complex'],
    ['[[1,2,3],[4,5,6],[7,8,9]]', undefined],
    ['[[1,2,3],[4,5,6],[7,8,9],[]]', 'entity.too.complex'],
    // A name twice in one object (JSON.parse would keep the last), also when spelled with escapes.
    ['{"a":1,"a":2}', 'entity.duplicate.member'],
    ['{"a":1, "\\u0061" :2}', 'entity.duplicate.member'],
    ['{"a":{"b":1},"a":2}', 'entity.duplicate.member'],
    ['[{"x":{"a":1,"b":[],"a":3}}]', 'entity.duplicate.member'],
    ['{"a":{"a":1}}', undefined],
    ['[{"a":1},{"a":2}]', undefined],
    ['{"a":"a","b":"a"}', undefined],
    ['{"a":{"b":1},"b":2}', undefined],
    ['{"a,":1,"a":2}', undefined],
  ])('%s: %s', (raw, type) => {
    expect(refuseJsonStructure(Buffer.from(raw), small)?.type).toBe(type);
  });
});

describe('numbers JSON.parse would change are refused before parsing', () => {
  it.each([
    '12345678901234567890',
    '-9007199254740993',
    '1e-400',
    '2e-324',
    '0.1000000000000000055511151231257827',
    '3.14159265358979323846',
  ])('%s', (number) => {
    expect(refuseJsonStructure(Buffer.from(`{"a":[1,${number}]}`))).toMatchObject({
      type: 'entity.inexact.number',
      detail: expect.stringContaining(number),
    });
  });

  it.each([
    '0',
    '-0',
    '0.0e7',
    '9007199254740992',
    '123456789012345',
    '0.30000000000000004',
    '5e-324',
    '1e21',
    '1.7976931348623157e308',
    '-2.5E-3',
    '100000000000000000000000000000',
  ])('%s comes through exactly', (number) => {
    expect(refuseJsonStructure(Buffer.from(`{"a":[1,${number}]}`))).toBeUndefined();
  });

  it('lets any double through as JSON.stringify writes it', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(refuseJsonStructure(Buffer.from(JSON.stringify({ a: value })))).toBeUndefined();
      }),
      { numRuns: 5_000, seed: 180_007 },
    );
  });
});
