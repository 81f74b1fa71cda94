import type { FieldRule, InputSchema } from '@clincore/cases/engine/input-schema';
import type { FieldErrors } from '@clincore/cases/engine/protocol';
import { type Code, type InputSource, LOINC, type ProtocolMapping, UCUM } from './fhir-mapping';
import { SUBJECT_REF_SYSTEM } from './fhir-subject';
import { convertUnit, roundHalfAwayFromZero } from './fhir-units';

/**
 * Reading a FHIR R4 Bundle into the body a JSON `POST /cases` sends
 * ({protocol, subject_ref, inputs}): pure, no database, every problem
 * reported at once under a FHIRPath-like location (or the input's name when
 * it is missing). Nothing is guessed: a value that is absent, sent twice,
 * contradicted or in a unit UCUM cannot convert is refused, never filled in.
 * docs/fhir.md ("Creating a case from FHIR") states these rules for partners.
 */

export const BUNDLE_TYPES = ['collection', 'batch', 'transaction'] as const;
/** Statuses that say the Observation does not stand: such an Observation is not read. */
export const IGNORED_STATUSES = ['entered-in-error', 'cancelled'] as const;
/** The other FHIR R4 ObservationStatus codes: read. Anything else is no status, and no guess. */
const READ_STATUSES = ['registered', 'preliminary', 'final', 'amended', 'corrected', 'unknown'];
export interface CaseRequest {
  protocol: string;
  subject_ref: string;
  inputs: Record<string, unknown>;
}

/** Where an input's value came from, to name it in the engine's own errors. */
export interface InputOrigin {
  /** FHIRPath-like location of the value, e.g. `Bundle.entry[2].resource.valueQuantity.value`. */
  at: string;
  /** What was sent when it was converted, e.g. `100.4 [degF] = 38.0 Cel`. */
  sent?: string;
}

export interface Translation {
  request: CaseRequest;
  origins: Record<string, InputOrigin>;
  /** Where the subject came from (the first Observation's subject). */
  subjectAt: string;
}

export type ReadResult =
  { ok: true; translation: Translation } | { ok: false; errors: FieldErrors };

type Json = Record<string, unknown>;

interface Reading {
  input: string;
  /** The Observation, or its component, that holds the value. */
  holder: Json;
  at: string;
  /** The table's codes this holder is coded with. */
  codes: Code[];
}

interface ReadObservation {
  resource: Json;
  at: string;
  /** A status that is no ObservationStatus code ("Entered-In-Error", "void"): refused if read. */
  badStatus?: boolean;
}

interface PatientEntry {
  resource: Json;
  at: string;
  fullUrl: string | undefined;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const arrayOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const codingsOf = (concept: unknown): Json[] =>
  isObject(concept) ? arrayOf(concept.coding).filter(isObject) : [];

const sameCode = (coding: Json, code: Code): boolean =>
  coding.system === code.system && coding.code === code.code;

const showCode = (code: Code): string =>
  `${code.system === LOINC ? 'LOINC' : code.system === UCUM ? 'UCUM' : code.system} ${code.code}`;

export function readBundle(
  protocol: string,
  mapping: ProtocolMapping,
  fields: InputSchema,
  bundle: unknown,
  today: string,
): ReadResult {
  const errors: FieldErrors = {};
  const fail = (key: string, message: string): void => {
    (errors[key] ??= []).push(message);
  };
  if (!isObject(bundle) || bundle.resourceType !== 'Bundle') {
    fail(
      'Bundle.resourceType',
      'The body must be a FHIR R4 Bundle (resourceType "Bundle") of type collection, batch or transaction.',
    );
    return { ok: false, errors };
  }
  if (!(BUNDLE_TYPES as readonly unknown[]).includes(bundle.type))
    fail(
      'Bundle.type',
      `Bundle.type is ${JSON.stringify(bundle.type ?? null)}; send collection, batch or transaction.`,
    );
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry))
    fail('Bundle.entry', 'Bundle.entry must be an array of entries.');

  const observations: ReadObservation[] = [];
  const patients: PatientEntry[] = [];
  arrayOf(bundle.entry).forEach((entry, index) => {
    const at = `Bundle.entry[${index}]`;
    if (!isObject(entry) || !isObject(entry.resource)) {
      fail(
        `${at}.resource`,
        'Each entry must hold a resource; this API reads the resources, it does not run requests.',
      );
      return;
    }
    const resource = entry.resource;
    const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
    if (resource.resourceType === 'Observation') {
      if (!(IGNORED_STATUSES as readonly unknown[]).includes(resource.status))
        observations.push({
          resource,
          at: `${at}.resource`,
          badStatus:
            resource.status !== undefined && !READ_STATUSES.includes(resource.status as string),
        });
    } else if (resource.resourceType === 'Patient') {
      patients.push({ resource, at: `${at}.resource`, fullUrl });
    }
    // Other resources (Practitioner, Encounter, Device, …) give no input: not read.
  });
  for (const extra of patients.slice(1))
    fail(
      extra.at,
      `A second Patient (the first is ${patients[0]?.at ?? ''}); a case has one subject, send one Patient.`,
    );
  const patient = patients[0];

  const readings = new Map<string, Reading[]>();
  const read: ReadObservation[] = [];
  for (const observation of observations) {
    const found = readingsOf(mapping, observation, fail);
    if (found.length === 0) continue; // a code this protocol does not use
    // A misspelt status may mean the Observation does not stand: refused, never read as final.
    if (observation.badStatus)
      fail(
        `${observation.at}.status`,
        `status ${JSON.stringify(observation.resource.status)} is no FHIR R4 Observation status; send ${READ_STATUSES.join(', ')} (read), or entered-in-error or cancelled (not read).`,
      );
    read.push(observation);
    for (const reading of found) {
      const list = readings.get(reading.input) ?? [];
      list.push(reading);
      readings.set(reading.input, list);
    }
  }

  const inputs: Record<string, unknown> = {};
  const origins: Record<string, InputOrigin> = {};
  const assessedOn = latestEffectiveDate(read) ?? { date: today };
  for (const [name, source] of Object.entries(mapping.inputs)) {
    const rule = fields[name];
    const found = readings.get(name) ?? [];
    const [first, ...others] = found;
    for (const other of others)
      fail(
        other.at,
        `A second value for ${name} (the first is ${first?.at ?? ''}), even if equal; send one Observation per input.`,
      );
    if (others.length > 0) continue;
    let value: Value | undefined;
    if (first !== undefined) value = valueOf(name, source, rule, first, fail);
    if (source.kind === 'age' && patient !== undefined) {
      value = agree(
        name,
        value,
        ageFromPatient(patient, assessedOn, today, value === undefined, fail),
        fail,
      );
    } else if (source.kind === 'sex' && patient !== undefined) {
      value = agree(name, value, sexFromPatient(patient, value === undefined, fail), fail);
    }
    if (value === undefined) {
      fail(name, `${name} is missing: ${whatToSend(name, source)}.`);
      continue;
    }
    if (value === MISSING) continue; // its error is reported
    inputs[name] = value.value;
    origins[name] = { at: value.at, ...(value.sent === undefined ? {} : { sent: value.sent }) };
  }

  const subject = subjectOf(read, patient, fail);
  if (Object.keys(errors).length > 0 || subject === undefined) {
    if (Object.keys(errors).length === 0)
      fail(
        'Bundle.entry',
        'No Observation this protocol reads, so no subject; send the inputs as Observations with a subject.',
      );
    return { ok: false, errors };
  }
  return {
    ok: true,
    translation: {
      request: { protocol, subject_ref: subject.ref, inputs },
      origins,
      subjectAt: subject.at,
    },
  };
}

type Fail = (key: string, message: string) => void;

/** A value read, with where it came from; MISSING when an error was already reported. */
interface Read {
  value: unknown;
  at: string;
  sent?: string;
}
const MISSING = Symbol('missing');
type Value = Read | typeof MISSING;

/** Which inputs an Observation gives: by any coding of its code, or of a panel's components. */
function readingsOf(mapping: ProtocolMapping, observation: ReadObservation, fail: Fail): Reading[] {
  const { resource, at } = observation;
  const codings = codingsOf(resource.code);
  const found: Reading[] = [];
  const direct = matchInputs(mapping, codings);
  if (direct.length > 1)
    fail(
      `${at}.code`,
      `This Observation is coded as ${direct.map((m) => m.input).join(' and ')} at once; send one Observation per input.`,
    );
  else if (direct[0]) found.push({ ...direct[0], holder: resource, at });
  const panels = Object.values(mapping.inputs).flatMap((source) =>
    source.kind === 'quantity' && source.panel ? [source.panel, ...(source.olderPanels ?? [])] : [],
  );
  const isPanel = codings.some((coding) => panels.some((panel) => sameCode(coding, panel)));
  if (isPanel) {
    arrayOf(resource.component).forEach((component, index) => {
      if (!isObject(component)) return;
      const matched = matchInputs(mapping, codingsOf(component.code)).filter((m) => {
        const source = mapping.inputs[m.input];
        return source?.kind === 'quantity' && source.panel !== undefined;
      });
      const componentAt = `${at}.component[${index}]`;
      if (matched.length > 1)
        fail(
          `${componentAt}.code`,
          'This component is coded as two inputs at once; send one per component.',
        );
      else if (matched[0]) found.push({ ...matched[0], holder: component, at: componentAt });
    });
  }
  return found;
}

function matchInputs(
  mapping: ProtocolMapping,
  codings: Json[],
): { input: string; codes: Code[] }[] {
  const matches: { input: string; codes: Code[] }[] = [];
  for (const [input, source] of Object.entries(mapping.inputs)) {
    const codes = source.codes.filter((code) => codings.some((coding) => sameCode(coding, code)));
    if (codes.length > 0) matches.push({ input, codes });
  }
  return matches;
}

/** What a partner sends for an input, in words, for "missing" messages. */
export function whatToSend(name: string, source: InputSource): string {
  const codes = source.codes.map(showCode).join(' or ');
  switch (source.kind) {
    case 'quantity':
      return `send an Observation coded ${codes}${source.panel ? ` (or a component of the ${showCode(source.panel)} panel)` : ''} with valueQuantity in ${source.unit} or a UCUM unit convertible to it`;
    case 'coded':
      return `send an Observation coded ${codes} with valueCodeableConcept ${source.answers.map((a) => showCode(a.code)).join(', ')}`;
    case 'explicit':
      return `send an Observation coded ${codes} with value${source.valueType === 'boolean' ? 'Boolean (true or false; absence is never read as false)' : 'Integer'}`;
    case 'age':
      return `send Patient.birthDate (a full date) or an Observation coded ${codes} with valueQuantity in a (UCUM years)`;
    case 'sex':
      return `send Patient.gender (female or male) or an Observation coded ${codes} with valueCodeableConcept ${source.answers.map((a) => showCode(a.code)).join(' or ')}`;
  }
}

function valueOf(
  name: string,
  source: InputSource,
  rule: FieldRule | undefined,
  reading: Reading,
  fail: Fail,
): Value {
  const { holder, at } = reading;
  if (holder.dataAbsentReason !== undefined && !Object.keys(holder).some(isValueKey)) {
    const reason = codingsOf(holder.dataAbsentReason)[0]?.code;
    fail(
      name,
      `${name} is missing: ${at} has no value (dataAbsentReason ${JSON.stringify(reason ?? 'given')}); ${whatToSend(name, source)}.`,
    );
    return MISSING;
  }
  switch (source.kind) {
    case 'quantity':
    case 'age': {
      const unit = source.kind === 'quantity' ? source.unit : 'a';
      const molarMasses = reading.codes
        .map((code) => (source.kind === 'quantity' ? source.molarMass?.[code.code] : undefined))
        .filter((mass): mass is number => mass !== undefined);
      if (new Set(molarMasses).size > 1) {
        fail(
          `${at}.code`,
          `Coded as ${reading.codes.map(showCode).join(' and ')}, which measure different things; send one.`,
        );
        return MISSING;
      }
      return quantityOf(name, unit, rule, source.kind === 'age', holder, at, molarMasses[0], fail);
    }
    case 'coded':
    case 'sex': {
      const concept = holder.valueCodeableConcept;
      if (concept === undefined) return wrongType(name, holder, at, 'valueCodeableConcept', fail);
      const values = new Set(
        source.answers
          .filter((answer) => codingsOf(concept).some((coding) => sameCode(coding, answer.code)))
          .map((answer) => answer.value),
      );
      if (values.size !== 1) {
        fail(
          `${at}.valueCodeableConcept`,
          `${values.size === 0 ? 'No coding' : 'Codings that disagree'} for ${name}: send one of ${source.answers.map((a) => `${showCode(a.code)} (${a.code.display})`).join(', ')}.`,
        );
        return MISSING;
      }
      return { value: [...values][0], at: `${at}.valueCodeableConcept` };
    }
    case 'explicit': {
      const key = source.valueType === 'boolean' ? 'valueBoolean' : 'valueInteger';
      const value = holder[key];
      if (value === undefined) return wrongType(name, holder, at, key, fail);
      const fits =
        source.valueType === 'boolean' ? typeof value === 'boolean' : Number.isInteger(value);
      if (!fits) {
        fail(
          `${at}.${key}`,
          `${key} must be ${source.valueType === 'boolean' ? 'true or false' : 'an integer'}.`,
        );
        return MISSING;
      }
      return { value, at: `${at}.${key}` };
    }
  }
}

function isValueKey(key: string): boolean {
  return key.startsWith('value') && key.length > 'value'.length;
}

/** A value of another type than the input is read from, or none at all. */
function wrongType(name: string, holder: Json, at: string, expected: string, fail: Fail): Value {
  const sent = Object.keys(holder).find(isValueKey);
  if (sent === undefined)
    fail(
      `${at}.${expected}`,
      `No value for ${name}: send ${expected} (or dataAbsentReason, and the input counts as missing).`,
    );
  else fail(`${at}.${sent}`, `${name} is read from ${expected}, not ${sent}.`);
  return MISSING;
}

function quantityOf(
  name: string,
  unit: string,
  rule: FieldRule | undefined,
  isAge: boolean,
  holder: Json,
  at: string,
  molarMass: number | undefined,
  fail: Fail,
): Value {
  const quantity = holder.valueQuantity;
  if (quantity === undefined) return wrongType(name, holder, at, 'valueQuantity', fail);
  const q = `${at}.valueQuantity`;
  if (!isObject(quantity) || typeof quantity.value !== 'number') {
    fail(
      `${q}.value`,
      `valueQuantity.value must be a number (in ${unit}, or a UCUM unit convertible to it).`,
    );
    return MISSING;
  }
  let ok = true;
  if (quantity.comparator !== undefined) {
    fail(
      `${q}.comparator`,
      `${JSON.stringify(quantity.comparator)} ${quantity.value} is a bound, not a measurement; the score needs the exact value, without comparator.`,
    );
    ok = false;
  }
  if (quantity.system !== undefined && quantity.system !== UCUM) {
    fail(
      `${q}.system`,
      `The unit must be UCUM (system ${UCUM}), not ${JSON.stringify(quantity.system)}.`,
    );
    ok = false;
  }
  if (typeof quantity.code !== 'string') {
    fail(
      `${q}.code`,
      `No UCUM unit code: send valueQuantity.code (e.g. ${JSON.stringify(unit)}) with system ${UCUM}; valueQuantity.unit is display text and is not read.`,
    );
    return MISSING;
  }
  if (!ok) return MISSING;
  const converted = convertUnit(quantity.value, quantity.code, unit, molarMass);
  if (!converted.ok) {
    fail(`${q}.code`, `${name}: ${converted.message}.`);
    return MISSING;
  }
  // Exact inputs stay exact: a value that needs no conversion goes to the engine as sent,
  // which refuses it if it is not at the field's precision.
  if (converted.value === quantity.value) return { value: quantity.value, at: `${q}.value` };
  const decimals = rule?.kind === 'decimal' ? rule.decimals : 0;
  // Age counts completed years: 779 months is 64, not 65.
  const value = isAge
    ? Math.floor(converted.value + 1e-9)
    : roundHalfAwayFromZero(converted.value, decimals);
  return { value, at: `${q}.value`, sent: `${quantity.value} ${quantity.code} = ${value} ${unit}` };
}

/** Both sources of one input (an Observation and the Patient) must agree; either alone is enough. */
function agree(
  name: string,
  fromObservation: Value | undefined,
  fromPatient: Value | undefined,
  fail: Fail,
): Value | undefined {
  if (fromObservation === undefined || fromObservation === MISSING)
    return fromObservation ?? fromPatient;
  if (fromPatient === undefined || fromPatient === MISSING) return fromObservation;
  if (fromObservation.value === fromPatient.value) return fromObservation;
  fail(
    fromObservation.at,
    `${name} is ${JSON.stringify(fromObservation.value)} here but ${JSON.stringify(fromPatient.value)} from ${fromPatient.at}; send one, or make them agree.`,
  );
  return MISSING;
}

const FULL_DATE = /^(\d{4})-(\d{2})-(\d{2})/;

/**
 * Age in completed years on `on` (YYYY-MM-DD). A partial birthDate (YYYY,
 * YYYY-MM) gives no age; it is an error only when nothing else gives one.
 */
function ageFromPatient(
  patient: PatientEntry,
  assessed: AssessedOn,
  today: string,
  needed: boolean,
  fail: Fail,
): Value | undefined {
  const birthDate = patient.resource.birthDate;
  if (birthDate === undefined) return undefined;
  const at = `${patient.at}.birthDate`;
  const on = assessed.date;
  // A day to come would count years not yet lived; a day of slack for offsets east of UTC.
  if (assessed.at !== undefined && on > dayAfter(today)) {
    fail(
      assessed.at,
      `${on} is after today (${today}, UTC), so the age from ${at} cannot be counted on it; send the time the Observation was made.`,
    );
    return MISSING;
  }
  const born = typeof birthDate === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate) : null;
  const day = FULL_DATE.exec(on);
  if (!born || !day || !isCalendarDate(born[0])) {
    if (!needed) return undefined;
    fail(
      at,
      `birthDate ${JSON.stringify(birthDate)} is not a full date (YYYY-MM-DD, a day of the calendar), so it gives no age; send one, or an Age Observation (LOINC 30525-0).`,
    );
    return MISSING;
  }
  const [, by, bm, bd] = born.map(Number) as [number, number, number, number];
  const [, y, m, d] = day.map(Number) as [number, number, number, number];
  const age = y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
  if (age < 0) {
    fail(at, `birthDate ${born[0]} is after the assessment date ${on}.`);
    return MISSING;
  }
  return { value: age, at, sent: `born ${born[0]}, assessed ${on}` };
}

function sexFromPatient(patient: PatientEntry, needed: boolean, fail: Fail): Value | undefined {
  const gender = patient.resource.gender;
  if (gender === undefined) return undefined;
  const at = `${patient.at}.gender`;
  if (gender === 'female' || gender === 'male') return { value: gender, at };
  if (!needed) return undefined;
  fail(
    at,
    `gender ${JSON.stringify(gender)} cannot be scored: the protocol needs female or male; send a Sex Observation (LOINC 46098-0, LA3-6 Female or LA2-8 Male) if one applies.`,
  );
  return MISSING;
}

/** 1950-02-30 matches the pattern but is no day. */
function isCalendarDate(date: string): boolean {
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(date);
}

/** The day an age is counted on, and the effective[x] it was read from (none for today). */
interface AssessedOn {
  date: string;
  at?: string;
}

function dayAfter(date: string): string {
  const next = new Date(`${date}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

/** The date (as written, in its own offset) of the latest effective[x] among the Observations read. */
function latestEffectiveDate(read: readonly ReadObservation[]): AssessedOn | undefined {
  let latest: AssessedOn | undefined;
  for (const { resource, at } of read) {
    const period = isObject(resource.effectivePeriod) ? resource.effectivePeriod : {};
    const when = (
      [
        ['effectiveDateTime', resource.effectiveDateTime],
        ['effectiveInstant', resource.effectiveInstant],
        ['effectivePeriod.end', period.end],
        ['effectivePeriod.start', period.start],
      ] as const
    ).find(([, value]) => typeof value === 'string' && FULL_DATE.test(value));
    const date = (when?.[1] as string | undefined)?.slice(0, 10);
    if (date !== undefined && isCalendarDate(date) && (latest === undefined || date > latest.date))
      latest = { date, at: `${at}.${when?.[0] ?? ''}` };
  }
  return latest;
}

/**
 * The subject_ref: every Observation read must name one subject, and the
 * included Patient (if any) must be it. `Patient/123` stays `Patient/123`; a
 * `urn:uuid:` reference to the included Patient becomes its identifier
 * (`system|value`, or the value alone for urn:clincore:fhir:subject-ref) or
 * `Patient/<id>`; a bare identifier likewise.
 */
function subjectOf(
  read: readonly ReadObservation[],
  patient: PatientEntry | undefined,
  fail: Fail,
): { ref: string; at: string } | undefined {
  const resolved: { ref: string; at: string; isPatient: boolean }[] = [];
  for (const { resource, at } of read) {
    const subject = resource.subject;
    const subjectAt = `${at}.subject`;
    if (!isObject(subject)) {
      fail(
        subjectAt,
        'No subject: send subject.reference (e.g. "Patient/123") or subject.identifier on every Observation.',
      );
      continue;
    }
    const isPatient = patient !== undefined && refersTo(subject, patient);
    const ref = subjectRefOf(subject, isPatient ? patient : undefined);
    if (typeof ref !== 'string') {
      fail(subjectAt, ref.problem);
      continue;
    }
    if (patient !== undefined && !isPatient) {
      fail(
        subjectAt,
        `The subject ${ref} is not the Patient in ${patient.at}; send the Observations of one patient, with that Patient or none.`,
      );
      continue;
    }
    resolved.push({ ref, at: subjectAt, isPatient });
  }
  const [first] = resolved;
  if (first === undefined) return undefined;
  const distinct = new Set(resolved.map((r) => r.ref));
  if (distinct.size === 1) return first;
  // Several ways of naming the included Patient (its id, its fullUrl): its own reference decides.
  if (patient !== undefined && resolved.every((r) => r.isPatient)) {
    const own = patientRef(patient);
    if (typeof own === 'string') return { ref: own, at: first.at };
  }
  for (const other of resolved)
    if (other.ref !== first.ref)
      fail(
        other.at,
        `The subject ${other.ref} differs from ${first.ref} (${first.at}); a case has one subject.`,
      );
  return undefined;
}

function refersTo(subject: Json, patient: PatientEntry): boolean {
  const reference = subject.reference;
  const id = typeof patient.resource.id === 'string' ? patient.resource.id : undefined;
  if (typeof reference === 'string') {
    if (reference === patient.fullUrl) return true;
    if (id !== undefined && (reference === `Patient/${id}` || reference.endsWith(`/Patient/${id}`)))
      return true;
    return patient.fullUrl !== undefined && patient.fullUrl.endsWith(`/${reference}`);
  }
  const identifier = subject.identifier;
  return (
    isObject(identifier) &&
    arrayOf(patient.resource.identifier).some(
      (own) => isObject(own) && own.system === identifier.system && own.value === identifier.value,
    )
  );
}

function subjectRefOf(
  subject: Json,
  patient: PatientEntry | undefined,
): string | { problem: string } {
  const reference = subject.reference;
  if (typeof reference === 'string') {
    if (reference.startsWith('urn:')) {
      if (patient === undefined)
        return {
          problem: `${reference} names no Patient in this Bundle (no entry has it as fullUrl); include that Patient, or reference it as Patient/<id>.`,
        };
      return patientRef(patient);
    }
    if (reference.startsWith('#') || reference.trim() === '')
      return {
        problem: `The reference ${JSON.stringify(reference)} is not read (contained resources are not); send Patient/<id> or an identifier.`,
      };
    return reference;
  }
  if (isObject(subject.identifier)) return identifierRef(subject.identifier);
  return { problem: 'The subject has neither reference nor identifier; send one of them.' };
}

function patientRef(patient: PatientEntry): string | { problem: string } {
  const identifiers = arrayOf(patient.resource.identifier).filter(isObject);
  const own = identifiers.find((i) => i.system === SUBJECT_REF_SYSTEM) ?? identifiers[0];
  if (own !== undefined) return identifierRef(own);
  const id = patient.resource.id;
  if (typeof id === 'string' && id !== '') return `Patient/${id}`;
  return {
    problem: `The Patient in ${patient.at} has neither identifier nor id, so it names no one; send one of them.`,
  };
}

function identifierRef(identifier: Json): string | { problem: string } {
  const { system, value } = identifier;
  if (typeof value !== 'string' || value.trim() === '')
    return { problem: 'The identifier has no value; send identifier.value (and its system).' };
  if (system === SUBJECT_REF_SYSTEM || system === undefined) return value;
  if (typeof system !== 'string') return { problem: 'identifier.system must be a URI (a string).' };
  return `${system}|${value}`;
}
