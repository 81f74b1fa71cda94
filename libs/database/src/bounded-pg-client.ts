import { AsyncResource } from 'node:async_hooks';
import { Client, type ClientConfig } from 'pg';
import { installPlainRowTemplates } from './pg-row-template';

installPlainRowTemplates();

/** Created at load, outside every request: running in its scope means no request context. */
const outsideRequests = new AsyncResource('clincore.pg-connect');

/**
 * A node-postgres client whose `query_timeout` ends the connection (and so
 * does a stale prepared statement, below). Plain
 * `query_timeout` rejects a query the server did not answer in time but keeps
 * the connection, still waiting for that answer: back in the pool, every later
 * query on it queues behind one that will never complete. Here the timed-out
 * connection is destroyed, the pool discards it, and the next request gets a
 * fresh one, so the API heals once a silent database speaks again.
 *
 * It also connects outside any request's context. A socket keeps the
 * async-local store that was current when it was created, and its events run
 * in it for as long as the pooled connection lives: opened while a request is
 * served, it would pin that request's context (tenant, transaction) and run
 * every later answer on the connection inside it.
 */
/**
 * A statement prepared on this connection that no longer runs as prepared: its
 * plan would now return another row type (a migration changed a function or
 * table it reads), or the server no longer has it. node-postgres would send it
 * as prepared again on every later use; ending the connection lets the pool
 * open a fresh one, which prepares it anew.
 */
function staleStatement(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    code === '26000' ||
    (code === '0A000' && error.message.includes('cached plan must not change result type'))
  );
}

export class BoundedPgClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    const connect = this.connect.bind(this) as (...args: unknown[]) => unknown;
    this.connect = ((...args: unknown[]) =>
      outsideRequests.runInAsyncScope(() => connect(...args))) as Client['connect'];
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    // Marks the client ending at once (the pool drops it on release) and, with the unanswered
    // query still active, destroys the socket.
    const endWhenUnusable = (error: unknown): void => {
      if (
        error instanceof Error &&
        (error.message === 'Query read timeout' || staleStatement(error))
      )
        this.end().catch(() => undefined);
    };
    this.query = ((...args: unknown[]) => {
      const callback = args.at(-1);
      if (typeof callback === 'function') {
        // The callback form (pg-pool's, and statements in a transaction) makes no promise.
        args[args.length - 1] = (error: unknown, result: unknown): unknown => {
          endWhenUnusable(error);
          return (callback as (error: unknown, result: unknown) => unknown)(error, result);
        };
        return query(...args);
      }
      const result = query(...args);
      if (result instanceof Promise) result.catch(endWhenUnusable);
      return result;
    }) as Client['query'];
  }
}
