import { ClsServiceManager } from 'nestjs-cls';

/**
 * Work that rides on a transaction's first statement (the tenant binding of
 * `TenantRlsSubscriber`) instead of taking a round trip of its own: the
 * Idempotency-Key lock and lookup. Select-list items over a FROM clause whose
 * parameters are numbered from `first`; the subscriber fills `rows`.
 */
export interface TransactionPrelude {
  columns: string;
  from: (first: number) => string;
  params: unknown[];
  rows?: Record<string, unknown>[];
}

const PRELUDE_KEY = 'clincore.transaction-prelude';

/** Runs `work` (which starts one transaction) with `prelude` on that transaction's first statement. */
export function withTransactionPrelude<T>(
  prelude: TransactionPrelude,
  work: () => Promise<T>,
): Promise<T> {
  const cls = ClsServiceManager.getClsService();
  return cls.run({ ifNested: 'inherit' }, () => {
    cls.set(PRELUDE_KEY, prelude);
    return work();
  });
}

/** The prelude of the transaction starting now, once: a later transaction in the context has none. */
export function takeTransactionPrelude(): TransactionPrelude | undefined {
  const cls = ClsServiceManager.getClsService();
  if (!cls.isActive()) return undefined;
  const prelude = cls.get<TransactionPrelude | undefined>(PRELUDE_KEY);
  if (prelude !== undefined) cls.set(PRELUDE_KEY, undefined);
  return prelude;
}
