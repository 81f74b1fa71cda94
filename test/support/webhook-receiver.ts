import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Receipt {
  headers: IncomingHttpHeaders;
  body: string;
  /** The answer it got: a status, or none (the request was left hanging). */
  status: number | null;
}

/** Decides each answer: a status, or 'hang' to never answer. */
export type Responder = (receipt: Omit<Receipt, 'status'>, index: number) => number | 'hang';

export interface WebhookReceiver {
  url: string;
  receipts: Receipt[];
  respond: Responder;
  /** TCP connections accepted so far: deliveries on a kept-alive connection share one. */
  connections: number;
  /** Resolves once `count` receipts satisfy `match` (all of them by default). */
  waitFor(
    count: number,
    match?: (receipt: Receipt) => boolean,
    timeoutMs?: number,
  ): Promise<Receipt[]>;
  close(): Promise<void>;
}

/** A partner's endpoint on 127.0.0.1 (port chosen by the system): tests send nowhere else. */
export async function startReceiver(
  respond: Responder = () => 204,
  options: { delayMs?: number } = {},
): Promise<WebhookReceiver> {
  const hanging = new Set<ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    receipts: [],
    respond,
    connections: 0,
    async waitFor(count, match = () => true, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const matching = receiver.receipts.filter(match);
        if (matching.length >= count) return matching;
        if (Date.now() > until) {
          throw new Error(`waited ${timeoutMs} ms for ${count} receipts, got ${matching.length}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const answer = receiver.respond(received, receiver.receipts.length);
      receiver.receipts.push({ ...received, status: answer === 'hang' ? null : answer });
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.statusCode = answer;
      if (answer >= 300 && answer < 400) res.setHeader('location', receiver.url);
      // A slow partner: the request is received (and counted) before it is answered.
      if (options.delayMs) setTimeout(() => res.end(), options.delayMs);
      else res.end();
    });
  });
  server.on('connection', () => (receiver.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
