import { Logger } from '@nestjs/common';
import {
  type EntitySubscriberInterface,
  EventSubscriber,
  type QueryRunner,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
} from 'typeorm';

interface Pending {
  depth: number;
  work: () => void;
}

const PENDING = Symbol('clincore.after-commit');
type WithPending = QueryRunner & { [PENDING]?: Pending[] };

/** TypeORM's savepoint depth (a protected field); 1 for a transaction without savepoints. */
function depthOf(runner: QueryRunner): number {
  return (runner as unknown as { transactionDepth?: number }).transactionDepth ?? 1;
}

/**
 * Queues `work` to run once the transaction open on `runner` has committed:
 * never if it rolls back, nor if the savepoint it was queued in rolls back.
 * `work` runs synchronously inside TypeORM's commit, in the caller's async
 * context: it should only hand something over, never query.
 */
export function afterCommit(runner: QueryRunner, work: () => void): void {
  const pending = ((runner as WithPending)[PENDING] ??= []);
  pending.push({ depth: depthOf(runner), work });
}

@EventSubscriber()
export class AfterCommitSubscriber implements EntitySubscriberInterface {
  private readonly logger = new Logger('AfterCommit');

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const runner = event.queryRunner as WithPending;
    // A released savepoint is not a commit: the work waits for the outermost one.
    if (runner.isTransactionActive || runner[PENDING] === undefined) return;
    const pending = runner[PENDING];
    runner[PENDING] = undefined;
    for (const { work } of pending) {
      try {
        work();
      } catch (error) {
        this.logger.error(`after-commit work failed: ${(error as Error).message}`);
      }
    }
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    const runner = event.queryRunner as WithPending;
    if (runner[PENDING] === undefined) return;
    // Queued deeper than what is left open was rolled back with its savepoint.
    const left = runner.isTransactionActive ? depthOf(runner) : 0;
    const kept = runner[PENDING].filter((p) => p.depth <= left);
    runner[PENDING] = kept.length > 0 ? kept : undefined;
  }
}
