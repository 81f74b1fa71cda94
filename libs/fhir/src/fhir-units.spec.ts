import { convertUnit, roundHalfAwayFromZero } from './fhir-units';

describe('convertUnit (ucum-lhc)', () => {
  it.each([
    [100.4, '[degF]', 'Cel', undefined, 38],
    [99.5, '[degF]', 'Cel', undefined, 37.5],
    [311.15, 'K', 'Cel', undefined, 38],
    [16, 'kPa', 'mm[Hg]', undefined, 120.01],
    [72, '{beats}/min', '/min', undefined, 72],
    [0.97, '1', '%', undefined, 97],
    [42, 'mg/dL', 'mmol/L', 60.06, 6.99],
    [19.6, 'mg/dL', 'mmol/L', 28.014, 7],
    [780, 'mo', 'a', undefined, 65],
  ])('%p %s to %s (molar mass %p) is about %p', (value, from, to, molarMass, expected) => {
    const converted = convertUnit(value, from, to, molarMass);
    expect(converted.ok).toBe(true);
    if (converted.ok) expect(converted.value).toBeCloseTo(expected, 2);
  });

  it('names what is wrong with a unit', () => {
    expect(convertUnit(120, 'mmHg', 'mm[Hg]')).toEqual({
      ok: false,
      message: expect.stringContaining('did you mean "mm[Hg]"'),
    });
    expect(convertUnit(70, 'kg', '/min')).toEqual({
      ok: false,
      message: expect.stringMatching(/^kg cannot be converted to \/min/),
    });
    // Mass to substance needs the molar mass: never a guess.
    expect(convertUnit(42, 'mg/dL', 'mmol/L').ok).toBe(false);
  });

  it('never hands ucum-lhc a code longer than any unit, nor one with characters UCUM has not', () => {
    // ucum-lhc takes seconds over such a code (quadratic in its length), holding every request.
    const started = Date.now();
    expect(convertUnit(72, 'm.'.repeat(20_000) + 'm', '/min')).toEqual({
      ok: false,
      message:
        'A unit code of 40001 characters (at most 100) is not a UCUM unit code; send the value with a UCUM code convertible to /min',
    });
    expect(Date.now() - started).toBeLessThan(100);
    expect(convertUnit(72, '/min\n{"level":50}', '/min')).toEqual({
      ok: false,
      message: expect.stringMatching(/printable ASCII without spaces/),
    });
    expect(convertUnit(72, '{beats}/min', '/min')).toEqual({ ok: true, value: 72 });
  });
});

describe('roundHalfAwayFromZero', () => {
  it.each([
    [38.00000000000006, 1, 38],
    [37.49999999999999, 1, 37.5],
    [120.01, 0, 120],
    [120.5, 0, 121],
    [-0.5, 0, -1],
    [6.95, 1, 7],
    [6.9930069930069925, 1, 7],
  ])('%p at %p places is %p', (value, decimals, expected) => {
    expect(roundHalfAwayFromZero(value, decimals)).toBe(expected);
  });
});
