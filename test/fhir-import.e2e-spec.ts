import type { Bundle, Observation, OperationOutcome } from '@medplum/fhirtypes';
import fc from 'fast-check';
import type { Response } from 'supertest';
import type { OpenAPIObject } from '@nestjs/swagger';
import {
  bootstrapTenant,
  expectProblem,
  startApi,
  type TestApi,
  type TestTenant,
  withKey,
} from './support/api';
import { uncheckedRequest } from './support/openapi-contract';
import { bundleErrors } from './support/fhir-validation';
import { NEWS2_INPUTS } from './support/cases';
import {
  bloodPressure,
  cha2ds2vascBundle,
  clincore,
  curb65Bundle,
  news2Bundle,
  observation,
  patient,
  qsofaBundle,
  quantity,
} from './support/fhir-bundles';

const FHIR = 'application/fhir+json; fhirVersion=4.0';
interface RequestBodyObject {
  content: Record<string, { schema?: unknown; examples?: unknown }>;
}
type Entry = { resource: Observation };

/**
 * A FHIR request's error is an OperationOutcome (the export side renders it):
 * its issues as the problem's `errors` map, each issue's expression its key
 * ('' for an issue without one, which carries the problem's detail).
 */
function outcome(res: Response, status: number, problem?: string): Record<string, string[]> {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
  const body = res.body as OperationOutcome;
  expect(body.resourceType).toBe('OperationOutcome');
  const errors: Record<string, string[]> = {};
  for (const issue of body.issue) {
    if (problem !== undefined) expect(issue.details?.coding?.[0]?.code).toBe(problem);
    (errors[issue.expression?.[0] ?? ''] ??= []).push(issue.diagnostics ?? '');
  }
  return errors;
}

/**
 * Creating a case from a FHIR R4 Bundle (POST /cases?protocol=…, issue 21):
 * realistic Bundles per protocol open the case a JSON POST with the same
 * inputs opens, and every kind of problem is a 400 naming where it is.
 */
describe('POST /cases from FHIR', () => {
  let api: TestApi;
  let tenant: TestTenant;

  beforeAll(async () => {
    api = await startApi();
    tenant = await bootstrapTenant(api.http, 'FHIR Hospital');
  });
  afterAll(() => api.close());

  const as = (key = tenant.adminKey) => withKey(api, key);
  const postFhir = (protocol: string | undefined, body: unknown, key = tenant.adminKey) =>
    as(key)
      .post(protocol === undefined ? '/cases' : `/cases?protocol=${protocol}`)
      .set('Content-Type', FHIR)
      .send(JSON.stringify(body));

  /** The case the same inputs open as JSON: the FHIR one must score exactly as it does. */
  async function asJson(protocol: string, subject: string, inputs: Record<string, unknown>) {
    const res = await as()
      .post('/cases')
      .send({ protocol, subject_ref: subject, inputs })
      .expect(201);
    return res.body as { result: unknown };
  }

  describe('realistic inputs', () => {
    it('are valid FHIR R4 (medplum), as an EHR would send them', () => {
      for (const make of [news2Bundle, qsofaBundle, curb65Bundle, cha2ds2vascBundle])
        expect(bundleErrors(make())).toEqual({});
    });

    it('news2: both SpO2 codings in one Observation, the BP panel, °F, {beats}/min; extra and entered-in-error Observations not read', async () => {
      const res = await postFhir('news2', news2Bundle());
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        protocol: 'news2',
        subject_ref: 'Patient/example-1',
        status: 'open',
        inputs: NEWS2_INPUTS,
        result: { score: 6, risk: 'medium' },
      });
      expect(res.headers.etag).toBe('"1"');
      expect(res.body.result).toEqual(
        (await asJson('news2', 'Patient/example-1', NEWS2_INPUTS)).result,
      );
    });

    it('qsofa: a transaction with request entries, the Patient by urn:uuid, the 55284-4 panel in kPa', async () => {
      const inputs = { respiratory_rate: 24, altered_mentation: true, systolic_bp: 100 };
      const res = await postFhir('qsofa', qsofaBundle());
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        subject_ref: 'https://hospital.example/Id/patient-number|9000000009',
        inputs,
        result: { score: 3, positive: true },
      });
      expect(res.body.result).toEqual((await asJson('qsofa', 'x', inputs)).result);
    });

    it('curb65: a batch, urea nitrogen and urea in mg/dL, age from birthDate on the date of the Observations', async () => {
      const inputs = {
        confusion: false,
        urea_mmol_l: 7.9, // 22 mg/dL of urea nitrogen / 28.014 g/mol = 7.853 mmol/L of urea
        respiratory_rate: 31,
        systolic_bp: 88,
        diastolic_bp: 58,
        age: 76, // born 1950-03-01, observed 2026-11-20
      };
      const res = await postFhir('curb65', curb65Bundle());
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ subject_ref: 'Patient/example-1', inputs });
      expect(res.body.result).toEqual((await asJson('curb65', 'x', inputs)).result);
      // Urea itself in mg/dL: 48 / 60.06 g/mol = 7.99 mmol/L.
      const urea = observation(
        { code: '3091-6', display: 'Urea [Mass/volume] in Serum or Plasma' },
        { valueQuantity: quantity(48, 'mg/dL') },
      );
      const again = await postFhir('curb65', curb65Bundle(urea)).expect(201);
      expect(again.body.inputs.urea_mmol_l).toBe(8);
    });

    it('cha2ds2vasc: sex and age from the Patient, every condition sent explicitly, subject_ref from its ClinCore identifier', async () => {
      const inputs = {
        chf: false,
        hypertension: true,
        age: 70, // born 1956-06-15, observed 2026-11-20
        diabetes: false,
        stroke_tia_thromboembolism: false,
        vascular_disease: true,
        sex: 'female',
      };
      const res = await postFhir('cha2ds2vasc', cha2ds2vascBundle());
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ subject_ref: 'MRN-000123', inputs });
      expect(res.body.result).toEqual((await asJson('cha2ds2vasc', 'x', inputs)).result);
    });
  });

  describe('refusals, each naming where', () => {
    const entries = (b: Bundle) => b.entry as Entry[];

    it('missing: one key per input, naming the codes to send; dataAbsentReason counts as missing', async () => {
      const b = news2Bundle();
      b.entry = entries(b).filter(
        (e) =>
          !(e.resource as Partial<Observation>).code?.coding?.some(
            (c) => c.code === '8310-5' || c.code === '8867-4',
          ),
      );
      const pulse = observation(
        { code: '8867-4', display: 'Heart rate' },
        { dataAbsentReason: { coding: [{ code: 'not-performed' }] } },
      );
      b.entry.push({ resource: pulse });
      const res = await postFhir('news2', b);
      const errors = outcome(res, 400, 'invalid-fhir-bundle');
      expect(Object.keys(errors).sort()).toEqual(['pulse', 'temperature']);
      expect(errors.temperature?.[0]).toMatch(/LOINC 8310-5 .*valueQuantity in Cel/);
      expect(errors.pulse?.[0]).toMatch(/dataAbsentReason "not-performed"/);
    });

    it('duplicated: a second Observation for one input, even with an equal value', async () => {
      const b = news2Bundle();
      b.entry?.push({ resource: bloodPressure(105, 70) });
      const res = await postFhir('news2', b);
      const at = `Bundle.entry[${String((b.entry?.length ?? 0) - 1)}].resource.component[0]`;
      expect(outcome(res, 400)).toEqual({
        [at]: [expect.stringMatching(/A second value for systolic_bp/)],
      });
    });

    it('contradictory: an Age Observation against birthDate, and subjects that differ', async () => {
      const b = curb65Bundle();
      b.entry?.push({
        resource: observation(
          { code: '30525-0', display: 'Age' },
          { valueQuantity: quantity(70, 'a') },
        ),
      });
      const res = await postFhir('curb65', b);
      expect(outcome(res, 400)).toEqual({
        'Bundle.entry[5].resource.valueQuantity.value': [
          'age is 70 here but 76 from Bundle.entry[0].resource.birthDate; send one, or make them agree.',
        ],
      });

      const other = news2Bundle();
      entries(other)[2]!.resource.subject = { reference: 'Patient/someone-else' };
      const differs = await postFhir('news2', other);
      expect(outcome(differs, 400)).toEqual({
        'Bundle.entry[2].resource.subject': [
          expect.stringMatching(
            /^The subject Patient\/someone-else differs from Patient\/example-1/,
          ),
        ],
      });
    });

    it('unconvertible: a unit that is not UCUM, a unit of another dimension, a non-UCUM system', async () => {
      const b = news2Bundle();
      const list = entries(b);
      list[6]!.resource.valueQuantity = quantity(95, 'kg');
      list[8]!.resource.valueQuantity = {
        value: 38,
        unit: 'Cel',
        system: 'http://units.example/local',
        code: 'Cel',
      };
      b.entry?.splice(5, 1, { resource: bloodPressure(105, 70, 'mmHg') });
      const res = await postFhir('news2', b);
      expect(outcome(res, 400)).toEqual({
        'Bundle.entry[5].resource.component[0].valueQuantity.code': [
          expect.stringMatching(/"mmHg" is not a UCUM unit code \(did you mean "mm\[Hg\]"\?\)/),
        ],
        'Bundle.entry[6].resource.valueQuantity.code': [
          'pulse: kg cannot be converted to /min; send the value in /min or a unit UCUM converts to it.',
        ],
        'Bundle.entry[8].resource.valueQuantity.system': [
          'The unit must be UCUM (system http://unitsofmeasure.org), not "http://units.example/local".',
        ],
      });
    });

    it('a unit code longer than any unit is refused unread, not parsed for minutes', async () => {
      // ucum-lhc parses in time quadratic in the length (40,001 characters: 4.6 s of the event loop),
      // so 200,001 would hold this replica about two minutes: jest's timeout fails this test then.
      const b = news2Bundle();
      entries(b)[6]!.resource.valueQuantity = quantity(72, 'm.'.repeat(100_000) + 'm', 'beats/min');
      const res = await postFhir('news2', b);
      expect(outcome(res, 400)).toEqual({
        'Bundle.entry[6].resource.valueQuantity.code': [
          'pulse: A unit code of 200001 characters (at most 100) is not a UCUM unit code; send the value with a UCUM code convertible to /min.',
        ],
      });
    });

    it('wrong value type: a string for a quantity, an integer for an explicit boolean', async () => {
      const b = qsofaBundle();
      const list = entries(b);
      delete list[1]!.resource.valueQuantity;
      list[1]!.resource.valueString = '24/min';
      list[3]!.resource = clincore(
        'altered_mentation',
        { valueInteger: 1 },
        list[3]!.resource.subject,
      );
      const res = await postFhir('qsofa', b);
      expect(outcome(res, 400)).toEqual({
        'Bundle.entry[1].resource.valueString': [
          'respiratory_rate is read from valueQuantity, not valueString.',
        ],
        'Bundle.entry[3].resource.valueInteger': [
          'altered_mentation is read from valueBoolean, not valueInteger.',
        ],
      });
    });

    it('no subject, a gender the score cannot use, a subject too long', async () => {
      const b = cha2ds2vascBundle();
      const list = entries(b);
      list[0]!.resource = patient({ gender: 'unknown', birthDate: '1956-06-15' }) as never;
      delete list[1]!.resource.subject;
      const res = await postFhir('cha2ds2vasc', b);
      expect(outcome(res, 400)).toEqual({
        'Bundle.entry[0].resource.gender': [
          expect.stringMatching(/^gender "unknown" cannot be scored/),
        ],
        'Bundle.entry[1].resource.subject': [expect.stringMatching(/^No subject/)],
      });
      // What the JSON body would refuse in subject_ref is named where the Bundle gave it.
      const long = news2Bundle();
      for (const entry of entries(long))
        if ((entry.resource as { resourceType: string }).resourceType === 'Observation')
          entry.resource.subject = { reference: `Patient/${'x'.repeat(250)}` };
      expect(Object.keys(outcome(await postFhir('news2', long), 400))).toEqual([
        'Bundle.entry[1].resource.subject',
      ]);
    });

    it('the engine range check names the Observation and the conversion; an exact value at the wrong precision is refused, not rounded', async () => {
      const b = news2Bundle();
      entries(b)[8]!.resource.valueQuantity = quantity(120, '[degF]');
      const hot = await postFhir('news2', b);
      expect(outcome(hot, 400)).toEqual({
        'Bundle.entry[8].resource.valueQuantity.value': [
          'temperature must be between 25 and 45 °C (120 [degF] = 48.9 Cel)',
        ],
      });
      entries(b)[8]!.resource.valueQuantity = quantity(38.25, 'Cel');
      const precise = await postFhir('news2', b);
      expect(outcome(precise, 400)).toEqual({
        'Bundle.entry[8].resource.valueQuantity.value': [
          'temperature must have at most 1 decimal place',
        ],
      });
    });

    it('protocol: none, unknown, generic, or sent in the query of a JSON body', async () => {
      const none = await postFhir(undefined, news2Bundle());
      expect(outcome(none, 400).protocol?.[0]).toMatch(
        /required in the query with a FHIR body: one of cha2ds2vasc, curb65, news2, qsofa/,
      );
      expect(
        Object.keys(outcome(await postFhir('apache2', news2Bundle()), 400, 'unknown-protocol')),
      ).toEqual(['protocol']);
      const generic = await postFhir('generic', news2Bundle());
      expect(outcome(generic, 400, 'fhir-protocol-not-mapped')).toEqual({
        protocol: [
          'generic takes any JSON object, which no FHIR resource maps to; FHIR opens cha2ds2vasc, curb65, news2, qsofa',
        ],
      });
      const json = await as()
        .post('/cases?protocol=news2')
        .send({ protocol: 'news2', subject_ref: 'MRN-1', inputs: NEWS2_INPUTS });
      expectProblem(json, 400);
      expect(json.body.errors).toEqual({
        protocol: ['send protocol in the JSON body, not in the query'],
      });
    });

    it('not a Bundle of a readable type; another FHIR version, or FHIR elsewhere, is a 415', async () => {
      const notBundle = await postFhir('news2', { resourceType: 'Observation' });
      expect(Object.keys(outcome(notBundle, 400))).toEqual(['Bundle.resourceType']);
      const history = await postFhir('news2', { ...news2Bundle(), type: 'history' });
      expect(outcome(history, 400)['Bundle.type']).toEqual([
        'Bundle.type is "history"; send collection, batch or transaction.',
      ]);
      const stu3 = await as()
        .post('/cases?protocol=news2')
        .set('Content-Type', 'application/fhir+json; fhirVersion=3.0')
        .send(JSON.stringify(news2Bundle()));
      expect(outcome(stu3, 415)['']).toEqual([
        'The request body is FHIR 3.0; this server reads FHIR R4 only: send application/fhir+json with fhirVersion=4.0 (or none).',
      ]);
      // Unchecked: the document gives this route's errors as problem+json only, and a FHIR request's
      // error comes as an OperationOutcome (the export side's rule); which one a route that reads no
      // FHIR should answer is left to that side.
      const elsewhere = await uncheckedRequest(
        api.app.getHttpServer(),
        'FHIR error on a non-FHIR route',
      )
        .post('/admin/api-keys')
        .set('X-API-Key', tenant.adminKey)
        .set('Content-Type', FHIR)
        .send(JSON.stringify({ name: 'fhir', role: 'member' }));
      expect(outcome(elsewhere, 415)['']?.[0]).toMatch(
        /^POST \/admin\/api-keys does not read FHIR/,
      );
    });
  });

  describe('round trip', () => {
    it.each([
      ['news2', news2Bundle],
      ['qsofa', qsofaBundle],
      ['curb65', curb65Bundle],
      ['cha2ds2vasc', cha2ds2vascBundle],
    ] as const)(
      '%s: Bundle in, the case read as FHIR (open, then finalized), posted again: the same inputs, score and risk',
      async (protocol, make) => {
        const first = await postFhir(protocol, make()).expect(201);
        const id = first.body.id as string;
        const readAsFhir = async () =>
          (await as().get(`/cases/${id}`).set('Accept', FHIR).expect(200)).body as Bundle;
        const open = await readAsFhir();
        await as()
          .post(`/cases/${id}/finalize`)
          .send({ signed_by: 'Dr. Ada Lovelace (GMC 1234567)', meaning: 'approval' })
          .expect(200);
        const finalized = await readAsFhir();
        // The finalized Bundle has more (Provenance, Binary): not read, as any resource but Observation and Patient.
        expect(finalized.entry?.length).toBeGreaterThan(open.entry?.length ?? 0);
        for (const exported of [open, finalized]) {
          const again = await postFhir(protocol, exported).expect(201);
          expect(again.body.id).not.toBe(id);
          expect(again.body).toMatchObject({
            protocol,
            subject_ref: first.body.subject_ref,
            inputs: first.body.inputs,
            result: first.body.result,
          });
        }
      },
    );
  });

  it('answers any change to a realistic Bundle with a case or a 400 OperationOutcome, never a 500', async () => {
    // A value anywhere in the Bundle replaced by arbitrary JSON, as a careless or hostile sender might.
    const paths = (
      value: unknown,
      at: Array<string | number> = [],
    ): Array<Array<string | number>> =>
      typeof value === 'object' && value !== null
        ? [
            at,
            ...Object.entries(value).flatMap(([key, child]) =>
              paths(child, [...at, Array.isArray(value) ? Number(key) : key]),
            ),
          ]
        : [at];
    const base = news2Bundle();
    const all = paths(base).filter((path) => path.length > 0);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...all),
        fc.jsonValue({ maxDepth: 2 }),
        async (path, replacement) => {
          const bundle = structuredClone(base) as unknown as Record<string | number, unknown>;
          let holder = bundle;
          for (const key of path.slice(0, -1)) holder = holder[key] as typeof holder;
          holder[path[path.length - 1] as string] = replacement;
          const res = await postFhir('news2', bundle);
          expect([201, 400]).toContain(res.status);
          if (res.status === 400) expect(res.body.resourceType).toBe('OperationOutcome');
        },
      ),
      { numRuns: 150 },
    );
  });

  describe('like any other case', () => {
    it('is audited, finalizes and verify-replays', async () => {
      const created = await postFhir('curb65', curb65Bundle()).expect(201);
      const id = created.body.id as string;
      const audit = await as()
        .get(`/admin/audit-events?action=case.created&target_id=${id}`)
        .expect(200);
      expect(audit.body.items).toHaveLength(1);
      const events = await as().get(`/cases/${id}/events`).expect(200);
      // The event holds the engine's canonical inputs: nothing says they came as FHIR.
      expect(events.body.items[0].payload.inputs).toEqual(created.body.inputs);
      await as()
        .post(`/cases/${id}/finalize`)
        .send({ signed_by: 'Dr. Ada Lovelace (GMC 1234567)', meaning: 'approval' })
        .expect(200);
      const replay = await as().post(`/cases/${id}/verify-replay`).expect(200);
      expect(replay.body.ok).toBe(true);
    });

    it('replays the first answer to an Idempotency-Key, and refuses the key for another protocol', async () => {
      const key = 'fhir-8e03978e-40d5-43e8-bc93-6894a57f9324';
      const first = await postFhir('news2', news2Bundle()).set('Idempotency-Key', key).expect(201);
      const again = await postFhir('news2', news2Bundle()).set('Idempotency-Key', key).expect(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      // Same Bundle, other query: another request, not a retry.
      outcome(
        await postFhir('qsofa', news2Bundle()).set('Idempotency-Key', key),
        422,
        'idempotency-key-reused',
      );
      // The same bytes as plain JSON: another request too (without the key, a 400).
      const asJson = await as()
        .post('/cases?protocol=news2')
        .set('Content-Type', 'application/json')
        .set('Idempotency-Key', key)
        .send(JSON.stringify(news2Bundle()));
      expect([asJson.status, asJson.body.type]).toEqual([
        422,
        'urn:clincore:problem:idempotency-key-reused',
      ]);
    });

    it('answers the created case as FHIR when Accept asks for it', async () => {
      const res = await postFhir('qsofa', qsofaBundle()).set('Accept', FHIR).expect(201);
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
      const resources = ((res.body as Bundle).entry ?? []).map((e) => e.resource?.resourceType);
      expect(resources).toContain('RiskAssessment');
    });

    it("is not another tenant's to see", async () => {
      const created = await postFhir('qsofa', qsofaBundle()).expect(201);
      const other = await bootstrapTenant(api.http, 'Other FHIR Hospital');
      expectProblem(await as(other.adminKey).get(`/cases/${created.body.id as string}`), 404);
    });
  });
});

describe('POST /cases from FHIR in the OpenAPI document', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it('shows the Bundle after JSON, the protocol query, and per protocol an example that opens the case its JSON example opens', async () => {
    const doc = (await api.http.get('/docs/openapi.json').expect(200)).body as OpenAPIObject;
    const create = doc.paths['/cases']?.post;
    const content = (create?.requestBody as RequestBodyObject).content;
    expect(Object.keys(content)).toEqual(['application/json', 'application/fhir+json']);
    expect(content['application/fhir+json']?.schema).toEqual({
      $ref: '#/components/schemas/FhirCreateCaseBundle',
    });
    expect(create?.parameters).toContainEqual(
      expect.objectContaining({ name: 'protocol', in: 'query', required: false }),
    );
    // Only POST /cases takes FHIR: what json-body.ts lets through.
    const fhirOperations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, { requestBody?: RequestBodyObject }>)
        .filter(([, op]) => op.requestBody?.content['application/fhir+json'])
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(fhirOperations).toEqual(['POST /cases']);

    const tenant = await bootstrapTenant(api.http, 'FHIR Example Hospital');
    const fhirExamples = content['application/fhir+json']?.examples as Record<
      string,
      { value: unknown }
    >;
    const jsonExamples = content['application/json']?.examples as Record<
      string,
      { value: { inputs: unknown } }
    >;
    expect(Object.keys(fhirExamples)).toEqual(['news2', 'qsofa', 'curb65', 'cha2ds2vasc']);
    for (const [protocol, example] of Object.entries(fhirExamples)) {
      expect({ protocol, errors: bundleErrors(example.value as Bundle) }).toEqual({
        protocol,
        errors: {},
      });
      const res = await api.http
        .post(`/cases?protocol=${protocol}`)
        .set('X-API-Key', tenant.adminKey)
        .set('Content-Type', FHIR)
        .send(JSON.stringify(example.value))
        .expect(201);
      expect(res.body).toMatchObject({
        subject_ref: 'MRN-000123',
        inputs: jsonExamples[protocol]?.value.inputs,
      });
    }
  });
});
