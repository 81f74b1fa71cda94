import { AsyncResource } from 'node:async_hooks';
import { Client, type ClientConfig } from 'pg';
import { isStalePreparedStatement } from './database-unavailable';
import { installPlainRowTemplates } from './pg-row-template';

installPlainRowTemplates();

/** Created at load, outside every request: running in its scope means no request context. */
const outsideRequests = new AsyncResource('clincore.pg-connect');

/**
 * A node-postgres client whose `query_timeout` ends the connection, as does a
 * prepared statement gone stale (the pool's fresh connection prepares it
 * anew). Plain `query_timeout` rejects a query the server did not answer in time but keeps
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
        (error.message === 'Query read timeout' || isStalePreparedStatement(error))
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
