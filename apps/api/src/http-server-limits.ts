import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpServerLimits } from '@clincore/common/app.config';
import { describeBytes } from './byte-size';

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
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    answerClientError(error, socket, limits);
  });
}

/** Node's own answers to what it refuses before a request exists (its default handler's statuses). */
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * What Node refuses before the application sees a request (a head over the
 * limit, a deadline passed, a malformed request) is answered as problem
 * details too, with Node's status; Node's default answer has no body. Written
 * to the socket directly: there is no request or response object yet.
 */
function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Duplex,
  limits: HttpServerLimits,
): void {
  const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || started?.headersSent) {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const problem = clientErrorProblem(error.code, limits, requestId);
  const body = JSON.stringify(problem);
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${String(problem.status)} ${problem.title}\r\nContent-Type: application/problem+json\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      `Content-Length: ${String(Buffer.byteLength(body))}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The problem for a refusal before any request exists. Its `instance` names
 * the occurrence (`urn:uuid:` of its request id): the request target was
 * never read.
 */
export function clientErrorProblem(
  code: string | undefined,
  limits: HttpServerLimits,
  requestId: string,
): {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  request_id: string;
} {
  const status = CLIENT_ERROR_STATUS[code ?? ''] ?? 400;
  const title = STATUS_CODES[status] ?? 'Bad Request';
  return {
    type: `urn:clincore:problem:${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
    title,
    status,
    detail: clientErrorDetail(code, limits),
    instance: `urn:uuid:${requestId}`,
    request_id: requestId,
  };
}

/** What was refused and, where a limit was passed, the limit, so a client knows what to change. */
function clientErrorDetail(code: string | undefined, limits: HttpServerLimits): string {
  switch (code ?? '') {
    case 'HPE_HEADER_OVERFLOW':
      return `The request line and headers are larger than this server accepts: at most ${describeBytes(limits.maxHeaderBytes)} in all.`;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 'The chunk extensions of the request body are larger than this server accepts (16 KiB, Node.js).';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return `The request was not complete in time: the head within ${String(limits.headersTimeoutMs)} ms, the whole request within ${String(limits.requestTimeoutMs)} ms.`;
    default:
      return 'The server refused the request before reading it: it is not well-formed HTTP.';
  }
}
