import { UcumLhcUtils } from '@lhncbc/ucum-lhc';

/**
 * UCUM conversions by @lhncbc/ucum-lhc (the NLM's UCUM library), not
 * hand-written factors: °F, K → Cel; kPa → mm[Hg]; mg/dL → mmol/L with a
 * molar mass; {beats}/min → /min; mo → a; and every other pair UCUM relates.
 */
const ucum = UcumLhcUtils.getInstance();

export type Conversion = { ok: true; value: number } | { ok: false; message: string };

export function convertUnit(
  value: number,
  from: string,
  to: string,
  molarMass?: number,
): Conversion {
  if (from === to) return { ok: true, value };
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
