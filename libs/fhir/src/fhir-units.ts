import { UcumLhcUtils } from '@lhncbc/ucum-lhc';

/**
 * UCUM conversions by @lhncbc/ucum-lhc (the NLM's UCUM library), not
 * hand-written factors: °F, K → Cel; kPa → mm[Hg]; mg/dL → mmol/L with a
 * molar mass; {beats}/min → /min; mo → a; and every other pair UCUM relates.
 */
const ucum = UcumLhcUtils.getInstance();

export type Conversion = { ok: true; value: number } | { ok: false; message: string };

/**
 * Far longer than any unit code systems send (`%{HemoglobinSaturation}` is 23):
 * ucum-lhc parses in time that grows with the square of the length (a
 * 40,000-character code held the event loop 4 s), and prints a code it fails
 * on to stdout, so a longer one, or one with characters UCUM does not have
 * (printable ASCII only, no space: a newline would forge log lines), is never
 * handed to it.
 */
const MAX_UNIT_LENGTH = 100;
const UCUM_CHARACTERS = /^[!-~]+$/;

export function convertUnit(
  value: number,
  from: string,
  to: string,
  molarMass?: number,
): Conversion {
  if (from === to) return { ok: true, value };
  if (from.length > MAX_UNIT_LENGTH || !UCUM_CHARACTERS.test(from))
    return {
      ok: false,
      message: `${from.length > MAX_UNIT_LENGTH ? `A unit code of ${from.length} characters (at most ${MAX_UNIT_LENGTH})` : `${JSON.stringify(from)} (UCUM codes are printable ASCII without spaces)`} is not a UCUM unit code; send the value with a UCUM code convertible to ${to}`,
    };
  const valid = ucum.validateUnitString(from, true);
  if (valid.status !== 'valid') {
    const suggested = valid.suggestions?.flatMap((s) => s.units.map(([code]) => code)) ?? [];
    return {
      ok: false,
      message: `${JSON.stringify(from)} is not a UCUM unit code${suggested.length > 0 ? ` (did you mean ${suggested.map((code) => JSON.stringify(code)).join(' or ')}?)` : ''}; send the value with a UCUM code convertible to ${to}`,
    };
  }
  const result = ucum.convertUnitTo(
    from,
    value,
    to,
    molarMass === undefined ? undefined : { molecularWeight: molarMass },
  );
  if (result.status !== 'succeeded' || result.toVal === null || !Number.isFinite(result.toVal))
    return {
      ok: false,
      message: `${from} cannot be converted to ${to}; send the value in ${to} or a unit UCUM converts to it`,
    };
  return { ok: true, value: result.toVal };
}

/**
 * Half away from zero at `decimals` places, on the value first cut to 9
 * significant decimals: 100.4 [degF] is 38.00000000000006 Cel in binary
 * floating point, and 99.5 [degF] must give 37.5 exactly, not 37.49999….
 */
export function roundHalfAwayFromZero(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  const scaled = Number((Math.abs(value) * scale).toFixed(9));
  const rounded = Math.round(scaled) / scale;
  return value < 0 ? -rounded : rounded;
}
