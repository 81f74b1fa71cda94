import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { canonicalJson } from './canonical-json';

/* eslint-disable no-loss-of-precision -- the RFC's inputs are written beyond double precision on purpose */
describe('canonicalJson (RFC 8785)', () => {
  it('sorts members by UTF-16 code units and drops insignificant whitespace (RFC 8785 §3.2.3)', () => {
    // The RFC's sorting example: property names in code-unit order.
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('serializes numbers as ECMAScript does (RFC 8785 §3.2.2.3 examples)', () => {
    expect(canonicalJson([333333333.33333329, 1e30, 4.5, 0.002, 1e-27, -0, 0])).toBe(
      '[333333333.3333333,1e+30,4.5,0.002,1e-27,0,0]',
    );
  });

  it('matches the RFC 8785 §3.2.4 output example', () => {
    const input = {
      numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
      string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    };
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });
});

describe('canonicalJson against the canonicalize package', () => {
  // The fast path (one JSON.stringify over a sorted copy) must give the package's bytes exactly,
  // and every value it cannot copy must reach the package, errors included.
  const reference = (value: unknown): string => {
    const text = canonicalize(value);
    if (text === undefined) throw new Error('value has no JSON representation');
    return text;
  };
  const outcome = (serialize: (v: unknown) => string, value: unknown): string => {
    try {
      return `ok ${serialize(value)}`;
    } catch (error) {
      return `error ${(error as Error).message}`;
    }
  };
  const agree = (value: unknown): void => {
    expect(outcome(canonicalJson, value)).toBe(outcome(reference, value));
  };

  it('agrees on arbitrary JSON values, any well-formed Unicode, any member names', () => {
    fc.assert(fc.property(fc.jsonValue({ stringUnit: 'binary' }), agree), { numRuns: 2000 });
  });

  it('agrees on values JSON does not have: lone surrogates (in values and names), non-finite numbers, undefined, toJSON, boxed primitives, index-like and __proto__ names', () => {
    // fast-check's 'binary' unit never makes a lone surrogate: these strings mix them in.
    const unit = fc.oneof(
      fc.constantFrom('\ud800', '\udfff', '\u0000', '"', '\\', '0', '9'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit, maxLength });
    const odd = fc.oneof(
      fc.constantFrom(
        '\ud800',
        'a\udc00b',
        Number.NaN,
        Infinity,
        -0,
        undefined,
        () => 1,
        Symbol('s'),
        new Date(0),
        { toJSON: () => ({ b: 1, a: 2 }) },
        new Number(1.5),
        new String('x'),
        new String(''),
        new Boolean(false),
        Object.assign([1, 2], { toJSON: () => 'array with toJSON' }),
        { '\ud800': 'a lone surrogate as a name' },
        JSON.parse('{"__proto__": {"a": 1}, "b": 2}') as unknown,
        { 10: 'a', 9: 'b', x: 'c' },
        { 4294967295: 'not an index', 1: 'index' },
        // A hole: JSON writes null, as canonicalize does.
        // eslint-disable-next-line no-sparse-arrays -- the hole is what is tested
        [1, , 3],
      ),
      fc.double(),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        odd,
        text(8),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(text(4), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(fc.property(value, agree), { numRuns: 2000 });
  });

  it('agrees on deep nesting and names a cycle', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i += 1) deep = i % 2 ? [deep] : { z: deep, a: i };
    agree(deep);
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow('Circular reference detected');
  });
});
