/**
 * Whether an error means "the database cannot serve this request now" (it is
 * down, restarting, refusing connections, cut the connection, did not answer
 * within the bounded wait, or ended the transaction to break a deadlock) rather than "this request is wrong" or "the
 * code is wrong". Such a request is answered 503, so clients and load
 * balancers retry instead of reporting a server bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth += 1) {
    if (typeof current !== 'object') return false;
    const { code, message, name } = current as {
      code?: unknown;
      message?: unknown;
      name?: unknown;
    };
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')))
      return true;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    // Dropped with its connection (BoundedPgClient): the retry prepares it on another.
    if (isStalePreparedStatement(current)) return true;
    // A transaction whose connection broke between two statements (the runner released itself).
    if (name === 'QueryRunnerAlreadyReleasedError') return true;
    if (typeof message === 'string' && DRIVER_MESSAGES.some((pattern) => pattern.test(message)))
      return true;
    // TypeORM wraps the driver's error; Node's fetch-style errors carry a cause.
    current =
      (current as { driverError?: unknown }).driverError ?? (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A statement prepared on a connection that no longer runs as prepared: the
 * server no longer has it (26000), or a migration changed the row type it
 * returns (0A000). node-postgres would send it as prepared again on every
 * later use of that connection.
 */
export function isStalePreparedStatement(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    code === '26000' ||
    (code === '0A000' && String(message).includes('cached plan must not change result type'))
  );
}

/** SQLSTATEs of a server that is going away, starting up, full, or cancelled the statement. */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (fast shutdown, pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
  '57P05', // idle_session_timeout
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout
  '25P03', // idle_in_transaction_session_timeout
  // The server stopped this transaction so that another could go on: the same request succeeds
  // when retried (e.g. a case's outbox insert against a change of the endpoint it names).
  '40P01', // deadlock_detected
  '40001', // serialization_failure
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** node-postgres and pg-pool say these in words only. */
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^Query read timeout$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
];
