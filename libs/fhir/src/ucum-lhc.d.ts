// @lhncbc/ucum-lhc ships no types: the part of its API that fhir-units.ts uses.
declare module '@lhncbc/ucum-lhc' {
  interface ConversionResult {
    status: 'succeeded' | 'failed' | 'error';
    toVal: number | null;
    msg: string[];
  }
  interface ValidationResult {
    status: 'valid' | 'invalid' | 'error';
    msg: string[];
    suggestions?: Array<{
      msg: string;
      units: Array<[code: string, name: string, guidance: string]>;
    }>;
  }
  export const UcumLhcUtils: {
    getInstance(): {
      convertUnitTo(
        fromUnit: string,
        value: number,
        toUnit: string,
        options?: { molecularWeight?: number },
      ): ConversionResult;
      validateUnitString(unit: string, suggest?: boolean): ValidationResult;
    };
  };
}
