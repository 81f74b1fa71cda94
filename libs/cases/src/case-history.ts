import { canonicalJson } from '@clincore/common/canonical-json';
import { type CaseEvent, type CaseState, foldCaseEvents, hashCaseEvent } from './case-events';

/** A case's events in order, and the last seq of them that predates the audit trail (0: none). */
export interface CaseHistory {
  events: CaseEvent[];
  unattestedThrough: number;
}

/** Every event's hash recomputes and links to the one before, seq by seq from 1. */
export function chainHolds(events: readonly CaseEvent[]): boolean {
  return events.every(
    (event, i) =>
      event.seq === i + 1 &&
      event.prev_hash === (i === 0 ? null : events[i - 1]?.hash) &&
      hashCaseEvent(event) === event.hash,
  );
}

/** Folding the events gives the stored case. */
export function foldsInto(events: readonly CaseEvent[], stored: CaseState): boolean {
  try {
    return sameJson(foldCaseEvents(events), stored);
  } catch {
    return false;
  }
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * Every event is attested by one of the case's signed audit events (which the
 * API writes with each change: `after` names the version and head hash it
 * made), or is at most `unattestedThrough` (events from before the audit
 * trail). The chain's hashes are SHA-256, which a leaked app login can
 * compute for an event it appends; the audit event's Ed25519 signature it
 * cannot.
 */
export function eventsAttested(
  events: readonly CaseEvent[],
  audited: ReadonlyArray<{ after: object | null }>,
  unattestedThrough = 0,
): boolean {
  const heads = new Set(
    audited.map((event) => {
      const after = (event.after ?? {}) as { version?: unknown; head_hash?: unknown };
      return `${String(after.version)}:${String(after.head_hash)}`;
    }),
  );
  return events.every(
    (event) => event.seq <= unattestedThrough || heads.has(`${String(event.seq)}:${event.hash}`),
  );
}
