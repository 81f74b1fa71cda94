import { isFhirRequest, negotiateFhir } from './fhir-media';
import { operationOutcomeOf } from './operation-outcome';

describe('negotiateFhir', () => {
  it.each([
    [undefined, 'json'],
    ['application/json', 'json'],
    ['*/*', 'json'],
    ['application/fhir+json', 'fhir'],
    ['application/fhir+json; fhirVersion=4.0', 'fhir'],
    ['application/fhir+json;fhirVersion="4.0.1"', 'fhir'],
    ['Application/FHIR+JSON', 'fhir'],
    ['application/json, application/fhir+json', 'fhir'],
    ['application/json, application/fhir+json;q=0.5', 'json'],
    ['application/json;q=0.4, application/fhir+json;q=0.5', 'fhir'],
    ['application/fhir+json;q=0', 'json'],
    ['application/fhir+json; fhirVersion=3.0', 'fhir-version'],
    ['application/fhir+json; fhirVersion=3.0, application/json', 'json'],
    ['application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0', 'fhir'],
  ] as const)('%s → %s', (accept, expected) => {
    expect(negotiateFhir(accept)).toBe(expected);
  });
});

describe('isFhirRequest', () => {
  it.each([
    [{ headers: { accept: 'application/fhir+json' }, path: '/cases' }, true],
    [{ headers: { accept: 'application/json, application/fhir+json;q=0.1' }, path: '/x' }, true],
    [{ headers: { 'content-type': 'application/fhir+json; charset=utf-8' }, path: '/cases' }, true],
    [{ headers: {}, path: '/fhir/R4/metadata' }, true],
    [{ headers: { accept: 'application/json' }, path: '/cases' }, false],
    [{ headers: { accept: 'application/fhir+json;q=0' }, path: '/cases' }, false],
    [{ headers: {}, path: '/fhirish' }, false],
  ])('%j → %s', (request, expected) => {
    expect(isFhirRequest(request)).toBe(expected);
  });
});

describe('operationOutcomeOf', () => {
  const base = {
    type: 'urn:clincore:problem:invalid-inputs',
    title: 'Invalid inputs',
    status: 400,
  };

  it('makes one issue per field message, located by expression', () => {
    const outcome = operationOutcomeOf(
      {
        ...base,
        detail: 'see errors',
        errors: { 'inputs.pulse': ['pulse is required'], 'inputs.spo2': ['a', 'b'] },
      },
      'req-1',
    );
    expect(outcome.issue.map((issue) => [issue.code, issue.expression, issue.diagnostics])).toEqual(
      [
        ['required', ['inputs.pulse'], 'pulse is required'],
        ['value', ['inputs.spo2'], 'a'],
        ['value', ['inputs.spo2'], 'b'],
      ],
    );
    expect(outcome.issue[0]?.details).toEqual({
      coding: [{ system: 'urn:clincore:problem', code: 'invalid-inputs' }],
      text: 'Invalid inputs',
    });
  });

  it('keeps the detail as diagnostics without field errors, and the request id', () => {
    const outcome = operationOutcomeOf(
      {
        type: 'urn:clincore:problem:rate-limited',
        title: 'Too many requests',
        status: 429,
        detail: 'slow down',
      },
      'caller:id_1',
    );
    expect(outcome.issue).toEqual([
      expect.objectContaining({ code: 'throttled', diagnostics: 'slow down' }),
    ]);
    // Not a FHIR id (":" and "_"): kept in the extension only.
    expect(outcome.id).toBeUndefined();
    expect(outcome.extension).toEqual([
      { url: 'urn:clincore:fhir:extension:request-id', valueString: 'caller:id_1' },
    ]);
  });

  it.each([
    [401, 'login'],
    [402, 'business-rule'],
    [403, 'forbidden'],
    [404, 'not-found'],
    [406, 'not-supported'],
    [409, 'conflict'],
    [412, 'conflict'],
    [413, 'too-long'],
    [415, 'not-supported'],
    [422, 'business-rule'],
    [429, 'throttled'],
    [500, 'exception'],
    [503, 'transient'],
    [418, 'invalid'],
    [502, 'exception'],
  ] as const)('maps %i to %s', (status, code) => {
    expect(operationOutcomeOf({ ...base, status, detail: 'x' }, 'r').issue[0]?.code).toBe(code);
  });
});
