import http, { IncomingMessage, ServerResponse } from 'node:http';
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
 * classes. The prototype chain is Express's, with one class prototype in
 * front (see `prototypedMessages`).
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
 * the prototypes it sets on each request).
 *
 * They are classes extending Node's, so that V8 lays their instances out as
 * Node's own (room for Node's fields inside the object, one hidden class
 * shared by all). A plain function calling `ServerResponse.call(this)` gets
 * an object with no such room, and V8 turns an object that collects more than
 * a dozen out-of-line properties through keyed stores (Node's symbol-keyed
 * fields) into a slow dictionary: every response was one from the start, and
 * every request became one as Express and Nest added to it. (Reflect.construct
 * with a plain function as new.target does not help: V8 gives each instance
 * a hidden class of its own.)
 *
 * A class's prototype is the class's own, so each class prototype is put in
 * front of Express's (which keeps Express's methods and `app` reachable) and
 * becomes `app.request`/`app.response`: Express's per-request
 * `Object.setPrototypeOf` then finds the prototype in place.
 */
export function prototypedMessages(app: { request: object; response: object }): {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
} {
  // Node passes the response its options (write buffer size, body rules): the
  // implicit constructor hands them on as given.
  class ExpressRequest extends IncomingMessage {}
  class ExpressResponse extends ServerResponse {}
  Object.setPrototypeOf(ExpressRequest.prototype, app.request);
  Object.setPrototypeOf(ExpressResponse.prototype, app.response);
  app.request = ExpressRequest.prototype;
  app.response = ExpressResponse.prototype;
  return {
    IncomingMessage: ExpressRequest,
    ServerResponse: ExpressResponse as unknown as typeof ServerResponse,
  };
}
