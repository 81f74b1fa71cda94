import type { Server } from 'node:http';
import type { HttpServerLimits } from '@clincore/common/app.config';

/**
 * Explicit bounds on the Node HTTP server, so a slow or oversized client
 * costs a socket for a bounded time: a head over `maxHeaderBytes` gets 431,
 * a head not complete within `headersTimeoutMs` (slowloris) gets 408 and the
 * socket closes, and so does a request not complete within `requestTimeoutMs`.
 * Set before `listen`: Node reads them per connection, and starts the timer
 * that enforces the deadlines when the server starts listening.
 */
export function applyHttpServerLimits(server: Server, limits: HttpServerLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // Both are `createServer` options that Node reads from the server object
  // (per connection, and at `listen`), and Nest creates the server itself.
  Object.assign(server, {
    maxHeaderSize: limits.maxHeaderBytes,
    // Deadlines are checked on this period (Node's default, 30 s, would stretch a
    // 10 s head deadline to 40 s); a check walks the open connections only.
    connectionsCheckingInterval: Math.min(1000, Math.ceil(limits.headersTimeoutMs / 2)),
  });
}
