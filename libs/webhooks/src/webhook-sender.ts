import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { guardedLookup, refuseWebhookUrl } from './webhook-target';

export interface WebhookMessage {
  url: string;
  /** The event id: the same on every attempt, so a receiver can drop duplicates. */
  id: string;
  /** Seconds since the epoch, of this attempt. */
  timestamp: number;
  body: string;
  /** Space-separated `v1,<base64>` signatures (two while a rotated secret is in grace). */
  signature: string;
}

export interface SendOptions {
  production: boolean;
  allowPrivateTargets: boolean;
  connectTimeoutMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Replaces DNS for the guard (tests); the guard applies unless private targets are allowed. */
  lookup?: LookupFunction;
  /**
   * Keep-alive agents whose connections were all made under these options'
   * guard (WebhookAgents); without them each attempt has a connection of its own.
   */
  agents?: WebhookAgents;
}

/**
 * Connections kept open between deliveries to the same origin, as partners'
 * receivers expect, instead of a connect and a close per delivery. A kept
 * connection was checked by the guard when it was made (its address is
 * fixed), so reusing it checks nothing less; one set of agents serves one set
 * of guard options, never another.
 */
export class WebhookAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;

  constructor(maxSockets: number) {
    const options = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: 30_000 };
    this.http = new http.Agent(options);
    this.https = new https.Agent(options);
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

export interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  /** Why the attempt failed, for the deliveries list and the log; never a secret. */
  error: string | null;
  /** More than the tenant is told (how a name resolved, which socket error): the log's only. */
  detail?: string;
}

/**
 * What a tenant is told when no answer came: how a host resolved, or which socket
 * error it gave, would let a tenant map the server's network (internal names, open
 * ports), so that stays in the server log.
 */
const UNREACHABLE = 'connection failed: the target refused, could not be reached or is not allowed';

/** Read at most this much of a response: a receiver has nothing to tell us beyond its status. */
const MAX_RESPONSE_BYTES = 4096;

/**
 * One attempt: POST the signed body, 2xx is success; any other status, a
 * timeout (connect, or the whole exchange) or a connection error is a
 * failure. Redirects are not followed (a 3xx is a failure: a redirect could
 * lead anywhere the guard would refuse). Targets are checked again here, at
 * connect time: the URL's literal address, and every address its name
 * resolves to.
 */
export function sendWebhook(message: WebhookMessage, options: SendOptions): Promise<SendOutcome> {
  const refusal = refuseWebhookUrl(message.url, options);
  if (refusal)
    return Promise.resolve({ ok: false, statusCode: null, error: `refused: ${refusal}` });
  const url = new URL(message.url);
  const secure = url.protocol === 'https:';
  const transport = secure ? https : http;
  const agent = options.agents ? (secure ? options.agents.https : options.agents.http) : false;
  return new Promise((resolve) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (outcome: SendOutcome): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      resolve(outcome);
    };
    const request = transport.request(url, {
      method: 'POST',
      agent,
      lookup: options.allowPrivateTargets ? undefined : (options.lookup ?? guardedLookup()),
      signal: options.signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'ClinCore-Webhooks/1',
        'webhook-id': message.id,
        'webhook-timestamp': String(message.timestamp),
        'webhook-signature': message.signature,
      },
    });
    /** The answer's status, once its head arrived. */
    let status: number | null = null;
    const fail = (error: string): void => {
      finish({ ok: false, statusCode: status, error });
      request.destroy();
    };
    timers.push(
      setTimeout(() => {
        // A 2xx is the answer (Standard Webhooks), whether or not its body ever ends: as when
        // the connection is reset after it. The connection is dropped, not kept for the next.
        if (status !== null && status >= 200 && status < 300) {
          finish({ ok: true, statusCode: status, error: null });
          request.destroy();
        } else
          fail(
            status === null
              ? `timeout: no answer within ${options.timeoutMs} ms`
              : `timeout: status ${status}, but the answer did not end within ${options.timeoutMs} ms`,
          );
      }, options.timeoutMs),
    );
    timers.push(
      setTimeout(
        () => fail(`timeout: no connection within ${options.connectTimeoutMs} ms`),
        options.connectTimeoutMs,
      ),
    );
    request.on('socket', (socket) => {
      // A kept-alive connection is connected already: it never emits 'connect' again.
      if (socket.connecting) socket.once('connect', () => clearTimeout(timers[1]));
      else clearTimeout(timers[1]);
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      const detail =
        error.code === 'EWEBHOOKTARGET'
          ? error.message
          : `connection error: ${error.code ?? error.message}`;
      finish({ ok: false, statusCode: null, error: UNREACHABLE, detail });
    });
    request.on('response', (response) => {
      status = response.statusCode ?? 0;
      const outcome: SendOutcome =
        status >= 200 && status < 300
          ? { ok: true, statusCode: status, error: null }
          : { ok: false, statusCode: status, error: `status ${status}` };
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) {
          finish(outcome);
          response.destroy();
        }
      });
      response.on('end', () => finish(outcome));
      response.on('error', () => finish(outcome));
      response.on('close', () => finish(outcome));
    });
    request.end(message.body);
  });
}
