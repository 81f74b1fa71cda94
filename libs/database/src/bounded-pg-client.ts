import { Client, type ClientConfig } from 'pg';

/**
 * A node-postgres client whose `query_timeout` ends the connection. Plain
 * `query_timeout` rejects a query the server did not answer in time but keeps
 * the connection, still waiting for that answer: back in the pool, every later
 * query on it queues behind one that will never complete. Here the timed-out
 * connection is destroyed, the pool discards it, and the next request gets a
 * fresh one, so the API heals once a silent database speaks again.
 */
export class BoundedPgClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((...args: unknown[]) => {
      const result = query(...args);
      if (result instanceof Promise) {
        result.catch((error: unknown) => {
          // Marks the client ending at once (the pool drops it on release) and, with the
          // unanswered query still active, destroys the socket.
          if (error instanceof Error && error.message === 'Query read timeout')
            this.end().catch(() => undefined);
        });
      }
      return result;
    }) as Client['query'];
  }
}
