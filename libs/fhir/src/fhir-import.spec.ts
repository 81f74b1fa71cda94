import fc from 'fast-check';
import { protocolRegistry } from '@clincore/cases/engine/protocol.registry';
import { BUNDLE_TYPES, readBundle, type ReadResult } from './fhir-import';
import { CLINCORE_INPUT, LOINC, PROTOCOL_MAPPINGS, UCUM } from './fhir-mapping';

type Json = Record<string, unknown>;

const read = (protocol: string, entries: Json[], today = '2026-12-05'): ReadResult => {
  const engine = protocolRegistry.latest(protocol);
  const mapping = PROTOCOL_MAPPINGS[protocol];
  if (!engine?.fields || !mapping) throw new Error(protocol);
  return readBundle(
    protocol,
    mapping,
    engine.fields,
    { resourceType: 'Bundle', type: 'collection', entry: entries },
    today,
  );
};

const subject = { reference: 'Patient/p1' };
const obs = (system: string, code: string, value: Json, extra: Json = {}): Json => ({
  resource: {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system, code }] },
    subject,
    ...value,
    ...extra,
  },
});
const qty = (value: number, code: string, system: string | null = UCUM): Json => ({
  valueQuantity: { value, code, ...(system === null ? {} : { system }) },
});
const flag = (code: string, value: boolean, extra: Json = {}) =>
  obs(CLINCORE_INPUT, code, { valueBoolean: value }, extra);

/** qSOFA: the smallest protocol, to try one rule at a time. */
const qsofa = (changes: { rr?: Json; sbp?: Json; am?: Json } = {}) => [
  changes.rr ?? obs(LOINC, '9279-1', qty(24, '/min')),
  changes.sbp ?? obs(LOINC, '8480-6', qty(100, 'mm[Hg]')),
  changes.am ?? flag('altered_mentation', false),
];

const errorsOf = (result: ReadResult) => (result.ok ? {} : result.errors);

describe('readBundle', () => {
  it('reads a standalone systolic Observation, and a UCUM code without system', () => {
    const result = read('qsofa', qsofa({ rr: obs(LOINC, '9279-1', qty(1440, '/h', null)) }));
    expect(result).toMatchObject({
      ok: true,
      translation: {
        request: {
          subject_ref: 'Patient/p1',
          inputs: { respiratory_rate: 24, systolic_bp: 100, altered_mentation: false },
        },
        origins: {
          respiratory_rate: {
            at: 'Bundle.entry[0].resource.valueQuantity.value',
            sent: '1440 /h = 24 /min',
          },
        },
      },
    });
  });

  it('refuses a comparator, and a value without a UCUM code', () => {
    const rr = obs(LOINC, '9279-1', {
      valueQuantity: { value: 30, comparator: '>', code: '/min' },
    });
    const sbp = obs(LOINC, '8480-6', { valueQuantity: { value: 100, unit: 'mmHg' } });
    expect(Object.keys(errorsOf(read('qsofa', qsofa({ rr, sbp }))))).toEqual([
      'Bundle.entry[0].resource.valueQuantity.comparator',
      'Bundle.entry[1].resource.valueQuantity.code',
    ]);
  });

  it('does not read entered-in-error or cancelled Observations, nor count them as duplicates', () => {
    const entries = [
      ...qsofa(),
      obs(LOINC, '9279-1', qty(40, '/min'), { status: 'entered-in-error' }),
      flag('altered_mentation', true, { status: 'cancelled' }),
    ];
    expect(read('qsofa', entries)).toMatchObject({
      ok: true,
      translation: { request: { inputs: { respiratory_rate: 24, altered_mentation: false } } },
    });
  });

  it('refuses an Observation it reads whose status is no FHIR status, rather than read it as standing', () => {
    const rr = obs(LOINC, '9279-1', qty(40, '/min'), { status: 'Entered-In-Error' });
    expect(errorsOf(read('qsofa', qsofa({ rr })))).toEqual({
      'Bundle.entry[0].resource.status': [
        'status "Entered-In-Error" is no FHIR R4 Observation status; send registered, preliminary, final, amended, corrected, unknown (read), or entered-in-error or cancelled (not read).',
      ],
    });
    // An Observation no input is read from may carry anything: it is not read.
    const other = obs(LOINC, '8310-5', qty(37, 'Cel'), { status: 'void' });
    expect(read('qsofa', [...qsofa(), other]).ok).toBe(true);
  });

  describe('age', () => {
    const curb = (patient: Json, more: Json[] = [], effective = '2026-03-01T08:00:00+01:00') => [
      { fullUrl: 'urn:uuid:a', resource: { resourceType: 'Patient', id: 'p1', ...patient } },
      flag('confusion', false, { effectiveDateTime: effective }),
      obs(LOINC, '22664-7', qty(5, 'mmol/L')),
      obs(LOINC, '9279-1', qty(18, '/min')),
      obs(LOINC, '8480-6', qty(120, 'mm[Hg]')),
      obs(LOINC, '8462-4', qty(80, 'mm[Hg]')),
      ...more,
    ];
    const ageOf = (result: ReadResult) =>
      result.ok ? result.translation.request.inputs.age : result.errors;

    it('counts completed years on the latest effective date, or today without one', () => {
      expect(ageOf(read('curb65', curb({ birthDate: '1961-03-01' })))).toBe(65);
      expect(ageOf(read('curb65', curb({ birthDate: '1961-03-02' })))).toBe(64);
      const period = flag('confusion', false, {
        effectivePeriod: { start: '2026-02-01', end: '2026-03-05' },
      });
      const later = curb({ birthDate: '1961-03-02' });
      later[1] = period;
      expect(ageOf(read('curb65', later))).toBe(65);
      // Born 1961-06-01: 64 on the Observations' date (2026-03-01), 65 today (2026-12-05).
      expect(ageOf(read('curb65', curb({ birthDate: '1961-06-01' })))).toBe(64);
      const none = curb({ birthDate: '1961-06-01' }).map((entry) => ({
        ...entry,
        resource: { ...(entry.resource as Json), effectiveDateTime: undefined },
      }));
      expect(ageOf(read('curb65', none, '2026-12-05'))).toBe(65);
    });

    it('counts no age on an effective date to come, which would add years not yet lived', () => {
      // Born 1961-06-01: 64 today (2026-12-05); dated 2031 the Observations would make it 70.
      expect(
        ageOf(read('curb65', curb({ birthDate: '1961-06-01' }, [], '2031-12-05T08:00:00Z'))),
      ).toEqual({
        'Bundle.entry[1].resource.effectiveDateTime': [
          '2031-12-05 is after today (2026-12-05, UTC), so the age from Bundle.entry[0].resource.birthDate cannot be counted on it; send the time the Observation was made.',
        ],
      });
      // Tomorrow as written east of UTC is today somewhere: counted.
      const east = curb({ birthDate: '1961-12-06' }, [], '2026-12-06T07:00:00+10:00');
      expect(ageOf(read('curb65', east))).toBe(65);
    });

    it('takes an Age Observation, truncating months; a partial birthDate gives none', () => {
      const age = obs(LOINC, '30525-0', qty(779, 'mo'));
      expect(ageOf(read('curb65', curb({ birthDate: '1961' }, [age])))).toBe(64);
      expect(ageOf(read('curb65', curb({ birthDate: '1961' })))).toEqual({
        'Bundle.entry[0].resource.birthDate': [expect.stringMatching(/not a full date/)],
      });
      expect(ageOf(read('curb65', curb({ birthDate: '1961-02-30' })))).toEqual({
        'Bundle.entry[0].resource.birthDate': [expect.stringMatching(/not a full date/)],
      });
    });
  });

  describe('subject', () => {
    const patient = (resource: Json, fullUrl = 'urn:uuid:p') => ({
      fullUrl,
      resource: { resourceType: 'Patient', ...resource },
    });
    const about = (entries: Json[], reference: Json) =>
      entries.map((entry) => ({ resource: { ...(entry.resource as Json), subject: reference } }));
    const subjectOf = (result: ReadResult) =>
      result.ok ? result.translation.request.subject_ref : result.errors;

    it('names the included Patient by identifier, by id, or as referenced', () => {
      const byUuid = about(qsofa(), { reference: 'urn:uuid:p' });
      const nhs = { system: 'https://hospital.example/Id/patient-number', value: '9000000009' };
      expect(subjectOf(read('qsofa', [patient({ identifier: [nhs] }), ...byUuid]))).toBe(
        'https://hospital.example/Id/patient-number|9000000009',
      );
      expect(subjectOf(read('qsofa', [patient({ id: 'p9' }), ...byUuid]))).toBe('Patient/p9');
      // Named two ways (its fullUrl and Patient/<id>): its own reference decides.
      const mixed = [
        ...byUuid.slice(0, 2),
        ...about(qsofa().slice(2), { reference: 'Patient/p9' }),
      ];
      expect(subjectOf(read('qsofa', [patient({ id: 'p9', identifier: [nhs] }), ...mixed]))).toBe(
        'https://hospital.example/Id/patient-number|9000000009',
      );
      const byIdentifier = about(qsofa(), { identifier: nhs });
      expect(subjectOf(read('qsofa', [patient({ identifier: [nhs] }), ...byIdentifier]))).toBe(
        'https://hospital.example/Id/patient-number|9000000009',
      );
      expect(subjectOf(read('qsofa', byIdentifier))).toBe(
        'https://hospital.example/Id/patient-number|9000000009',
      );
    });

    it('refuses a urn: reference to nothing in the Bundle, a Patient that is not the subject, two Patients', () => {
      expect(
        Object.keys(errorsOf(read('qsofa', about(qsofa(), { reference: 'urn:uuid:x' })))),
      ).toEqual([
        'Bundle.entry[0].resource.subject',
        'Bundle.entry[1].resource.subject',
        'Bundle.entry[2].resource.subject',
      ]);
      expect(
        Object.keys(errorsOf(read('qsofa', [patient({ id: 'p2' }), ...qsofa()]))),
      ).toHaveLength(3);
      expect(
        errorsOf(
          read('qsofa', [patient({ id: 'p1' }), patient({ id: 'p1' }, 'urn:uuid:q'), ...qsofa()]),
        ),
      ).toEqual({ 'Bundle.entry[1].resource': [expect.stringMatching(/^A second Patient/)] });
    });
  });

  it('refuses an Observation coded as two inputs, which then gives neither', () => {
    const both = obs(LOINC, '9279-1', qty(20, '/min'), {
      code: {
        coding: [
          { system: LOINC, code: '9279-1' },
          { system: LOINC, code: '8480-6' },
        ],
      },
    });
    expect(Object.keys(errorsOf(read('qsofa', [both, ...qsofa().slice(1)])))).toEqual([
      'Bundle.entry[0].resource.code',
      'respiratory_rate',
    ]);
  });
});

describe('readBundle on anything', () => {
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const codeLike = fc.oneof(
    anyJson,
    fc.constant({ coding: [{ system: LOINC, code: '8480-6' }] }),
    fc.constant({ coding: [{ system: LOINC, code: '85354-9' }] }),
    fc.constant({ coding: [{ system: LOINC, code: '30525-0' }] }),
    fc.constant({ coding: [{ system: CLINCORE_INPUT, code: 'altered_mentation' }] }),
  );
  const resource = fc.record(
    {
      resourceType: fc.constantFrom('Observation', 'Patient', 'Condition', 7),
      status: fc.oneof(fc.constantFrom('final', 'entered-in-error'), anyJson),
      code: codeLike,
      component: fc.oneof(anyJson, fc.array(fc.record({ code: codeLike, valueQuantity: anyJson }))),
      valueQuantity: fc.oneof(
        anyJson,
        fc.record({
          value: fc.double(),
          code: fc.constantFrom('mm[Hg]', 'kPa', '[degF]', 'mmHg', 'a'),
        }),
      ),
      valueBoolean: anyJson,
      valueCodeableConcept: anyJson,
      dataAbsentReason: anyJson,
      subject: fc.oneof(anyJson, fc.constant(subject)),
      effectiveDateTime: fc.oneof(anyJson, fc.constant('2026-01-01')),
      effectivePeriod: anyJson,
      birthDate: fc.oneof(anyJson, fc.constant('1950-02-30')),
      gender: anyJson,
      identifier: anyJson,
      id: anyJson,
    },
    { requiredKeys: ['resourceType'] },
  );
  const entry = fc.oneof(anyJson, fc.record({ fullUrl: anyJson, resource }));
  const bundle = fc.oneof(
    anyJson,
    fc.record({
      resourceType: fc.constant('Bundle'),
      type: fc.oneof(fc.constantFrom(...BUNDLE_TYPES), anyJson),
      entry: fc.oneof(anyJson, fc.array(entry, { maxLength: 8 })),
    }),
  );

  it('answers every body with inputs or errors, never an exception', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('news2', 'qsofa', 'curb65', 'cha2ds2vasc'),
        bundle,
        (protocol, body) => {
          const engine = protocolRegistry.latest(protocol);
          const mapping = PROTOCOL_MAPPINGS[protocol];
          if (!engine?.fields || !mapping) throw new Error(protocol);
          const result = readBundle(protocol, mapping, engine.fields, body, '2026-12-05');
          if (result.ok)
            expect(Object.keys(result.translation.request.inputs).sort()).toEqual(
              Object.keys(mapping.inputs).sort(),
            );
          else expect(Object.keys(result.errors).length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
