import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';

/**
 * Nest's Express adapter, with an HTTP server that builds each request and
 * response on Express's prototypes from the start.
 *
 * Express gives every incoming request and response its own prototypes
 * (`Object.setPrototypeOf(req, app.request)`). In V8 (Node 20) an object whose
 * prototype was changed gets a fresh hidden class for every property added
 * afterwards, and Express, Nest and the API add some twenty per request: each
 * request then had hidden classes of its own, so every property access on a
 * request or response missed V8's inline caches and went to the runtime. Built
 * on `app.request`/`app.response` already, Express's `setPrototypeOf` finds
 * the prototype in place and changes nothing, and requests share hidden
 * classes. The prototype chain is the one Express would have set.
 */
export class PrototypedExpressAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    super.initHttpServer(options);
    // HTTPS and connection tracking keep Nest's own server (neither is used here: TLS ends at the proxy).
    if (options.httpsOptions || options.forceCloseConnections) return;
    this.httpServer = http.createServer(prototypedMessages(this.getInstance()), this.getInstance());
  }
}

/**
 * Request and response classes whose instances have Express's prototypes from
 * construction; `app` is an Express application (`request` and `response` are
 * the prototypes it sets).
 */
export function prototypedMessages(app: { request: object; response: object }): {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
} {
  function ExpressRequest(this: IncomingMessage, socket: Socket): void {
    IncomingMessage.call(this, socket);
  }
  ExpressRequest.prototype = app.request;
  // Node passes the response its options (write buffer size, body rules): they go through as given.
  function ExpressResponse(this: ServerResponse, req: IncomingMessage, options: unknown): void {
    (ServerResponse as unknown as (req: IncomingMessage, options: unknown) => void).call(
      this,
      req,
      options,
    );
  }
  ExpressResponse.prototype = app.response;
  return {
    IncomingMessage: ExpressRequest as unknown as typeof IncomingMessage,
    ServerResponse: ExpressResponse as unknown as typeof ServerResponse,
  };
}
