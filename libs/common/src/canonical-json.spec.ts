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
