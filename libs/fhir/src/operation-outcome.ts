import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/** The request id on every OperationOutcome (also its id when it is a valid FHIR id). */
export const REQUEST_ID_EXTENSION = 'urn:clincore:fhir:extension:request-id';
/** The problem type (`urn:clincore:problem:<code>`) as issue.details coding. */
export const PROBLEM_SYSTEM = 'urn:clincore:problem';

/** What the API's problem details carry that an OperationOutcome says again. */
export interface ProblemLike {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Record<string, string[]>;
}

type IssueType = OperationOutcomeIssue['code'];

/** The HTTP status as an IssueType (FHIR R4 issue-type), the closest in meaning. */
const ISSUE_TYPES: Readonly<Record<number, IssueType>> = {
  400: 'invalid',
  401: 'login',
  402: 'business-rule',
  403: 'forbidden',
  404: 'not-found',
  405: 'not-supported',
  406: 'not-supported',
  408: 'timeout',
  409: 'conflict',
  412: 'conflict',
  413: 'too-long',
  415: 'not-supported',
  422: 'business-rule',
  428: 'required',
  429: 'throttled',
  431: 'too-long',
  500: 'exception',
  503: 'transient',
};

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * A problem as a FHIR OperationOutcome, with the same status and request id:
 * each message of `errors` is an issue whose `expression` names its key (an
 * input name or a FHIRPath location in a posted Bundle); without `errors`, one
 * issue whose diagnostics is the problem's detail. The problem type and title
 * are every issue's `details`, so a client can branch on them as on problem+json.
 */
export function operationOutcomeOf(problem: ProblemLike, requestId: string): OperationOutcome {
  const fallback: IssueType = problem.status >= 500 ? 'exception' : 'invalid';
  const code = ISSUE_TYPES[problem.status] ?? fallback;
  const details = {
    coding: [{ system: PROBLEM_SYSTEM, code: problem.type.replace(`${PROBLEM_SYSTEM}:`, '') }],
    text: problem.title,
  };
  const perField = Object.entries(problem.errors ?? {}).flatMap(([key, messages]) =>
    messages.map((message): OperationOutcomeIssue => ({
      severity: 'error',
      code: problem.status === 400 ? fieldIssueType(message) : code,
      details,
      diagnostics: message,
      expression: [key],
    })),
  );
  return {
    resourceType: 'OperationOutcome',
    ...(FHIR_ID.test(requestId) ? { id: requestId } : {}),
    extension: [{ url: REQUEST_ID_EXTENSION, valueString: requestId }],
    issue:
      perField.length > 0
        ? perField
        : [{ severity: 'error', code, details, diagnostics: problem.detail }],
  };
}

/** A field's message: something missing is `required`, anything else a wrong `value`. */
function fieldIssueType(message: string): IssueType {
  return /\b(required|missing|must be present|should not be empty)\b/i.test(message)
    ? 'required'
    : 'value';
}
