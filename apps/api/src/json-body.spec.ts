import { JSON_BODY_LIMITS, refuseJson } from './json-body';

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
      detail: expect.stringContaining(`at most ${JSON_BODY_LIMITS.membersPerObject}`),
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
