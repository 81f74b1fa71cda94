import { Logger } from '@nestjs/common';
import {
  type EntitySubscriberInterface,
  EventSubscriber,
  type QueryRunner,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
} from 'typeorm';
import { queryInTransaction } from './sql';

/**
 * A write whose result nothing in the transaction waits for (an outbox row,
 * the record of an Idempotency-Key): held until the commit, then sent with
 * every other one held in one statement, just before COMMIT, instead of a
 * round trip each. Its common table expressions are named through `name`
 * (each write gets its own prefix) and number their parameters from
 * `first`; `result` is a scalar expression over them, handed to `done`.
 * `done` may throw, and so refuse the commit: the transaction rolls back and
 * the error reaches whoever committed. `failed` may turn the statement's
 * error into one of the write's own. `params` is read once, as the
 * statement is built (after the commit steps): a getter may decide them then.
 */
export interface DeferredWrite {
  ctes: (first: number, name: (cte: string) => string) => string;
  result: (name: (cte: string) => string) => string;
  params: unknown[];
  done: (value: unknown) => void;
  failed?: (error: unknown) => Error | undefined;
}

/** One statement on the committing transaction's connection (`prepared` as in `Sql.query`). */
export type StepQuery = <Row>(
  text: string,
  params: unknown[],
  prepared?: boolean,
) => Promise<Row[]>;

/**
 * Work with round trips of its own that runs at the commit, before the held
 * writes' statement: for a lock worth holding as briefly as possible (a
 * tenant's audit head, which its writes take turns on until COMMIT). Steps
 * run in the order they were added; the last (`last`) may return a write to
 * be sent with the held writes instead of sending it itself.
 */
export type CommitStep = (query: StepQuery, last: boolean) => Promise<DeferredWrite | undefined>;

interface Held<T> {
  depth: number;
  item: T;
}

const WRITES = Symbol('clincore.before-commit');
const WORK = Symbol('clincore.after-commit');
const STEPS = Symbol('clincore.commit-steps');
type Hooked = QueryRunner & {
  [WRITES]?: Held<DeferredWrite>[];
  [WORK]?: Held<() => void>[];
  [STEPS]?: Held<CommitStep>[];
};

/** TypeORM's savepoint depth (a protected field); 1 for a transaction without savepoints. */
function depthOf(runner: QueryRunner): number {
  return (runner as unknown as { transactionDepth?: number }).transactionDepth ?? 1;
}

/** Holds `write` until the transaction open on `runner` commits; dropped if it (or its savepoint) rolls back. */
export function beforeCommit(runner: QueryRunner, write: DeferredWrite): void {
  hooked(runner);
  ((runner as Hooked)[WRITES] ??= []).push({ depth: depthOf(runner), item: write });
}

/** Runs `step` when the transaction open on `runner` commits; dropped if it (or its savepoint) rolls back. */
export function atCommit(runner: QueryRunner, step: CommitStep): void {
  hooked(runner);
  ((runner as Hooked)[STEPS] ??= []).push({ depth: depthOf(runner), item: step });
}

/** A data source without the subscriber would commit without the held writes: refused loudly. */
function hooked(runner: QueryRunner): void {
  if (!runner.dataSource.subscribers.some((s) => s instanceof TransactionHooksSubscriber))
    throw new Error('held writes need TransactionHooksSubscriber on the data source');
}

/** How many writes the transaction open on `runner` holds for its commit. */
export function heldWrites(runner: QueryRunner): number {
  return (runner as Hooked)[WRITES]?.length ?? 0;
}

/**
 * Queues `work` to run once the transaction open on `runner` has committed:
 * never if it rolls back, nor if the savepoint it was queued in rolls back.
 * `work` runs synchronously inside TypeORM's commit, in the caller's async
 * context: it should only hand something over, never query.
 */
export function afterCommit(runner: QueryRunner, work: () => void): void {
  hooked(runner);
  ((runner as Hooked)[WORK] ??= []).push({ depth: depthOf(runner), item: work });
}

/** The held writes as one statement: their CTEs, then one column per write. */
export function combinedStatement(writes: DeferredWrite[]): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const ctes: string[] = [];
  const results: string[] = [];
  writes.forEach((write, index) => {
    const name = (cte: string): string => `w${String(index)}_${cte}`;
    ctes.push(write.ctes(params.length + 1, name));
    params.push(...write.params);
    results.push(`${write.result(name)} as r${String(index)}`);
  });
  return { text: `with ${ctes.join(',\n')}\nselect ${results.join(', ')}`, params };
}

/** The most held writes whose combined statement is prepared per connection. */
const PREPARED_WRITES = 3;

@EventSubscriber()
export class TransactionHooksSubscriber implements EntitySubscriberInterface {
  private readonly logger = new Logger('TransactionHooks');

  async beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    const runner = event.queryRunner as Hooked;
    // Releasing a savepoint is not the commit: held writes wait for the outermost one.
    if (depthOf(runner) > 1) return;
    const writes = (runner[WRITES] ?? []).map((held) => held.item);
    runner[WRITES] = undefined;
    const steps = (runner[STEPS] ?? []).map((held) => held.item);
    runner[STEPS] = undefined;
    const query: StepQuery = (text, params, prepared = false) =>
      queryInTransaction(runner, text, params, prepared);
    for (const [index, step] of steps.entries()) {
      const write = await step(query, index === steps.length - 1);
      if (write !== undefined) writes.push(write);
    }
    if (writes.length === 0) return;
    const { text, params } = combinedStatement(writes);
    let row: Record<string, unknown> | undefined;
    try {
      // Prepared: planning this statement (CTEs over several tables under their policies) took
      // longer than running it, on every request (docs/benchmarks.md). Its texts are the few
      // combinations of held writes a request makes; a transaction holding more than
      // PREPARED_WRITES (none does today) is planned each time rather than add statements.
      [row] = await queryInTransaction<Record<string, unknown>>(
        runner,
        text,
        params,
        writes.length <= PREPARED_WRITES,
      );
    } catch (error) {
      for (const write of writes) {
        const own = write.failed?.(error);
        if (own !== undefined) throw own;
      }
      throw error;
    }
    writes.forEach((write, index) => write.done(row?.[`r${String(index)}`]));
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const runner = event.queryRunner as Hooked;
    if (runner.isTransactionActive) {
      // A savepoint released: what it held now belongs to the level it was released into.
      const depth = depthOf(runner);
      for (const held of [
        ...(runner[WRITES] ?? []),
        ...(runner[WORK] ?? []),
        ...(runner[STEPS] ?? []),
      ])
        held.depth = Math.min(held.depth, depth);
      return;
    }
    if (runner[WORK] === undefined) return;
    const work = runner[WORK];
    runner[WORK] = undefined;
    for (const { item } of work) {
      try {
        item();
      } catch (error) {
        this.logger.error(`after-commit work failed: ${(error as Error).message}`);
      }
    }
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    const runner = event.queryRunner as Hooked;
    // Held deeper than what is left open was rolled back with its savepoint.
    const left = runner.isTransactionActive ? depthOf(runner) : 0;
    runner[WRITES] = keptTo(runner[WRITES], left);
    runner[WORK] = keptTo(runner[WORK], left);
    runner[STEPS] = keptTo(runner[STEPS], left);
  }
}

function keptTo<T>(held: Held<T>[] | undefined, depth: number): Held<T>[] | undefined {
  const kept = held?.filter((h) => h.depth <= depth);
  return kept !== undefined && kept.length > 0 ? kept : undefined;
}
