import { createPublicKey, verify } from 'node:crypto';
import type {
  Binary,
  Bundle,
  CapabilityStatement,
  OperationOutcome,
  Provenance,
  Resource,
  RiskAssessment,
} from '@medplum/fhirtypes';
import { protocolRegistry } from '@clincore/cases/engine/protocol.registry';
import type request from 'supertest';
import { bootstrapTenant, startApi, type TestApi, type TestTenant, withKey } from './support/api';
import { bundleErrors, fhirErrors } from './support/fhir-validation';
import { ResponseContract } from './support/openapi-contract';

interface DocumentedResponse {
  content?: Record<string, { example?: Resource; examples?: Record<string, { value: Resource }> }>;
}

const FHIR = 'application/fhir+json';
const SIGN = { signed_by: 'Dr. Ada Lovelace (GMC 1234567)', meaning: 'approval' };
const MAPPED = ['news2', 'qsofa', 'curb65', 'cha2ds2vasc'];

function entries<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? [])
    .map((entry) => entry.resource)
    .filter((resource): resource is T => resource?.resourceType === type);
}

/** An OperationOutcome as a FHIR error must be: valid R4, FHIR JSON, the request id kept. */
function expectOutcome(res: request.Response, status: number): OperationOutcome {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
  const outcome = res.body as OperationOutcome;
  expect(outcome.resourceType).toBe('OperationOutcome');
  expect(fhirErrors(outcome)).toEqual([]);
  const requestId = res.headers['x-request-id'];
  expect(outcome.extension).toContainEqual({
    url: 'urn:clincore:fhir:extension:request-id',
    valueString: requestId,
  });
  expect(outcome.id).toBe(requestId);
  return outcome;
}

describe('FHIR export: cases as Bundles, CapabilityStatement, OperationOutcomes', () => {
  let api: TestApi;
  let tenant: TestTenant;
  let other: TestTenant;

  beforeAll(async () => {
    api = await startApi();
    tenant = await bootstrapTenant(api.http, 'FHIR Hospital');
    other = await bootstrapTenant(api.http, 'Other Hospital');
  });
  afterAll(() => api.close());

  const as = (key = tenant.adminKey) => withKey(api, key);

  async function openCase(protocol: string, subjectRef = 'MRN-1'): Promise<string> {
    const inputs = protocolRegistry.latest(protocol)?.example;
    const res = await as()
      .post('/cases')
      .send({ protocol, subject_ref: subjectRef, inputs })
      .expect(201);
    return res.body.id as string;
  }

  const readFhir = (id: string, accept = FHIR) => as().get(`/cases/${id}`).set('Accept', accept);

  describe.each(MAPPED)('%s', (protocol) => {
    let id: string;
    beforeAll(async () => {
      id = await openCase(protocol, 'Patient/fhir-123');
    });

    it('reads an open case as a valid R4 Bundle, with its ETag, the same at every read', async () => {
      const res = await readFhir(id).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
      expect(res.headers.etag).toBe('"1"');
      expect(res.headers.vary).toMatch(/Accept/);
      const bundle = res.body as Bundle;
      expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
      expect(bundleErrors(bundle)).toEqual({});
      const [assessment] = entries<RiskAssessment>(bundle, 'RiskAssessment');
      expect(assessment).toMatchObject({
        status: 'preliminary',
        subject: { reference: 'Patient/fhir-123' },
        method: { coding: [{ system: 'urn:clincore:fhir:protocol', code: `${protocol}@1.0.0` }] },
      });
      expect(entries(bundle, 'Provenance')).toEqual([]);
      expect((await readFhir(id).expect(200)).body).toEqual(bundle);
    });

    it('reads it finalized with a Provenance whose signature verifies against GET /signing-keys', async () => {
      const finalized = await as().post(`/cases/${id}/finalize`).send(SIGN).expect(200);
      const res = await readFhir(id, `${FHIR}; fhirVersion=4.0`).expect(200);
      expect(res.headers.etag).toBe('"2"');
      const bundle = res.body as Bundle;
      expect(bundleErrors(bundle)).toEqual({});
      const [assessment] = entries<RiskAssessment>(bundle, 'RiskAssessment');
      expect(assessment?.status).toBe('final');
      const [provenance] = entries<Provenance>(bundle, 'Provenance');
      expect(provenance?.target).toEqual([
        { reference: bundle.entry?.find((e) => e.resource === assessment)?.fullUrl },
      ]);
      const signature = provenance?.signature?.[0];
      expect(signature).toMatchObject({
        when: finalized.body.signature.signed_at,
        who: { display: SIGN.signed_by },
        // The same bytes as the JSON API's signature, in standard base64.
        data: Buffer.from(finalized.body.signature.value, 'base64url').toString('base64'),
      });
      // From the Bundle alone: the signed bytes, the key id, and the public key.
      const binaryUrl = provenance?.entity?.[0]?.what.reference;
      const binary = bundle.entry?.find((e) => e.fullUrl === binaryUrl)?.resource as Binary;
      const kid = signature?.extension?.find(
        (e) => e.url === 'urn:clincore:fhir:extension:signing-key-id',
      )?.valueString;
      const jwks = await api.http.get('/signing-keys').expect(200);
      const jwk = (jwks.body.keys as Array<{ kid: string; x: string }>).find((k) => k.kid === kid);
      expect(jwk).toBeDefined();
      const key = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: jwk?.x ?? '' },
        format: 'jwk',
      });
      const signed = Buffer.from(binary.data ?? '', 'base64');
      const value = Buffer.from(signature?.data ?? '', 'base64');
      expect(verify(null, signed, key, value)).toBe(true);
      expect(signed.toString('utf8')).toBe(finalized.body.signature.signed_record);
      // A byte changed and it no longer verifies: the check is real.
      signed[10] = (signed[10] ?? 0) ^ 1;
      expect(verify(null, signed, key, value)).toBe(false);
    });
  });

  it('keeps JSON the default and for Accept: application/json', async () => {
    const id = await openCase('news2');
    for (const accept of [undefined, 'application/json', `application/json, ${FHIR};q=0.5`]) {
      const req = as().get(`/cases/${id}`);
      const res = await (accept ? req.set('Accept', accept) : req).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toMatchObject({ id, protocol: 'news2' });
    }
  });

  it('answers the created case as FHIR when POST /cases asks for it', async () => {
    const res = await as()
      .post('/cases')
      .set('Accept', FHIR)
      .send({
        protocol: 'qsofa',
        subject_ref: 'MRN 9',
        inputs: protocolRegistry.latest('qsofa')?.example,
      })
      .expect(201);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.headers.etag).toBe('"1"');
    const bundle = res.body as Bundle;
    expect(bundleErrors(bundle)).toEqual({});
    const [assessment] = entries<RiskAssessment>(bundle, 'RiskAssessment');
    expect(assessment?.subject).toEqual({
      identifier: { system: 'urn:clincore:fhir:subject-ref', value: 'MRN 9' },
    });
  });

  it('replays an idempotent create as the retry asks: stored as JSON, translated on the way out', async () => {
    const key = `fhir-${Date.now()}`;
    const body = {
      protocol: 'news2',
      subject_ref: 'MRN-2',
      inputs: protocolRegistry.latest('news2')?.example,
    };
    const first = await as()
      .post('/cases')
      .set('Idempotency-Key', key)
      .set('Accept', FHIR)
      .send(body)
      .expect(201);
    const replay = await as().post('/cases').set('Idempotency-Key', key).send(body).expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers['content-type']).toMatch(/^application\/json/);
    expect((first.body as Bundle).identifier?.value).toBe(replay.body.id);
  });

  describe('what cannot be FHIR', () => {
    it('a generic case read as FHIR is a 406 OperationOutcome', async () => {
      const res = await as()
        .post('/cases')
        .send({ protocol: 'generic', subject_ref: 'MRN-3', inputs: { any: 'thing' } })
        .expect(201);
      const outcome = expectOutcome(await readFhir(res.body.id as string), 406);
      expect(outcome.issue[0]).toMatchObject({ code: 'not-supported', severity: 'error' });
      expect(outcome.issue[0]?.diagnostics).toMatch(/generic protocol has no FHIR mapping/);
    });

    it('a generic create asking for FHIR is a 406 and creates nothing', async () => {
      const before = await as().get('/cases?protocol=generic&limit=100').expect(200);
      const res = await as()
        .post('/cases')
        .set('Accept', FHIR)
        .send({ protocol: 'generic', subject_ref: 'MRN-4', inputs: { any: 'thing' } });
      expectOutcome(res, 406);
      const after = await as().get('/cases?protocol=generic&limit=100').expect(200);
      expect(after.body.items).toHaveLength(before.body.items.length);
    });

    it('an Accept naming only another FHIR version is a 406', async () => {
      const id = await openCase('news2');
      expectOutcome(await readFhir(id, `${FHIR}; fhirVersion=3.0`), 406);
    });
  });

  describe('errors of FHIR requests are OperationOutcomes', () => {
    it("another tenant's case is a 404, as for JSON", async () => {
      const id = await openCase('news2');
      const res = await withKey(api, other.adminKey).get(`/cases/${id}`).set('Accept', FHIR);
      expect(expectOutcome(res, 404).issue).toEqual([
        expect.objectContaining({ code: 'not-found', diagnostics: 'No such case.' }),
      ]);
    });

    it('invalid inputs name each field in expression', async () => {
      const res = await as()
        .post('/cases')
        .set('Accept', FHIR)
        .send({
          protocol: 'news2',
          subject_ref: 'MRN-5',
          inputs: {
            ...protocolRegistry.latest('news2')?.example,
            respiration_rate: 'fast',
            pulse: undefined,
          },
        });
      const outcome = expectOutcome(res, 400);
      expect(outcome.issue.map((issue) => [issue.code, issue.expression?.[0]]).sort()).toEqual([
        ['required', 'inputs.pulse'],
        ['value', 'inputs.respiration_rate'],
      ]);
    });

    it('no API key is a 401 login issue', async () => {
      const res = await api.http
        .get('/cases/0b9f3c52-7a0e-4d1b-9c6e-2f4a8d1e5b37')
        .set('Accept', FHIR);
      expect(expectOutcome(res, 401).issue[0]?.code).toBe('login');
    });

    it('keeps the caller’s X-Request-Id as the outcome id', async () => {
      const res = await as()
        .get('/cases/not-a-uuid')
        .set('Accept', FHIR)
        .set('X-Request-Id', 'partner-req-42');
      expect(expectOutcome(res, 400).id).toBe('partner-req-42');
    });

    it('a FHIR body the parser refuses is an OperationOutcome too', async () => {
      const res = await as().post('/cases').set('Content-Type', FHIR).send('{"resourceType": ');
      expect(expectOutcome(res, 400).issue[0]?.code).toBe('invalid');
    });

    it('problem+json stays the answer of a plain JSON request', async () => {
      const res = await as().get('/cases/not-a-uuid').expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });
  });

  it("the served document's FHIR examples are valid R4 and fit their schemas", async () => {
    const doc = (await api.http.get('/docs/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { responses: Record<string, DocumentedResponse> }>>;
      components: { schemas: Record<string, { example?: Resource }> };
    };
    const contract = new ResponseContract(doc as never);
    const shown: Array<[string, string, string, Resource]> = [];
    for (const [template, item] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(item))
        for (const [status, response] of Object.entries(operation.responses)) {
          const fhir = response.content?.[FHIR];
          for (const example of Object.values(fhir?.examples ?? {}))
            shown.push([method, template, status, example.value]);
          if (fhir?.example) shown.push([method, template, status, fhir.example]);
        }
    expect(shown.filter(([, , status]) => status.startsWith('2')).length).toBe(5);
    for (const [method, template, status, example] of shown) {
      expect({ at: `${method} ${template} ${status}`, errors: fhirErrors(example) }).toEqual({
        at: `${method} ${template} ${status}`,
        errors: [],
      });
      const problems = contract.check(method, template, {
        status: Number(status),
        headers: {
          'content-type': FHIR,
          'x-request-id': 'x',
          etag: '"1"',
          'x-quota-reset': 'x',
          'retry-after': '1',
        },
        body: example,
        text: '',
      });
      expect(problems).toEqual([]);
    }
    for (const name of ['FhirBundle', 'OperationOutcome', 'CapabilityStatement']) {
      const example = doc.components.schemas[name]?.example;
      expect(example?.resourceType).toBe(name === 'FhirBundle' ? 'Bundle' : name);
      expect(fhirErrors(example as Resource)).toEqual([]);
    }
  });

  describe('GET /fhir/R4/metadata', () => {
    it('is a public, valid CapabilityStatement, the same whatever Host the request names', async () => {
      const res = await api.http
        .get('/fhir/R4/metadata')
        .set('Host', 'evil.clincore.example')
        .expect(200);
      // Nothing of the request is reflected: a cache in front of the API cannot be poisoned.
      expect(res.text).not.toContain('evil.clincore.example');
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
      const statement = res.body as CapabilityStatement;
      expect(fhirErrors(statement)).toEqual([]);
      expect(statement).toMatchObject({
        resourceType: 'CapabilityStatement',
        status: 'active',
        kind: 'instance',
        fhirVersion: '4.0.1',
        format: ['json', FHIR],
        software: { name: 'ClinCore API' },
      });
      expect(statement.rest?.[0]?.resource?.map((r) => r.type).sort()).toEqual([
        'Binary',
        'Bundle',
        'Observation',
        'Patient',
        'Provenance',
        'RiskAssessment',
      ]);
    });

    it('answers an error under /fhir/ as an OperationOutcome whatever the Accept', async () => {
      expectOutcome(await api.http.get('/fhir/R4/metadata?__proto__=1'), 400);
      expectOutcome(await api.http.get('/fhir/R4/Patient/1'), 404);
    });
  });
});
