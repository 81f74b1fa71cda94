import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLS_ID, ClsServiceManager } from 'nestjs-cls';
import { requestIdOf } from './request-id';

const CLIENT_IP = Symbol('clincore.ip');

const IP_ON_REQUEST = Symbol('clincore.ip');

type WithIp = IncomingMessage & { ip?: string; [IP_ON_REQUEST]?: string | null };

/**
 * The client's address as Express sees it (honours `trust proxy` when it is
 * set). Express computes `req.ip` anew on each read (walking
 * X-Forwarded-For through proxy-addr); the request context and the access log
 * both ask, so the first answer is kept on the request.
 */
export function clientIpOf(req: WithIp): string | undefined {
  const kept = req[IP_ON_REQUEST];
  if (kept !== undefined) return kept ?? undefined;
  const ip = req.ip ?? req.socket.remoteAddress;
  req[IP_ON_REQUEST] = ip ?? null;
  return ip;
}

/**
 * Middleware that opens the request's context (nestjs-cls's
 * AsyncLocalStorage) with its id and client ip, and runs the rest of the
 * request inside it. It replaces nestjs-cls's own middleware, which does the
 * same through a chain of async functions (plugin hooks, id generator, setup)
 * and, as Nest middleware, through Nest's middleware proxy: some fourteen
 * promises per request, each of which also runs the promise hooks that
 * AsyncLocalStorage turns on in Node 20. This one creates none. The request
 * itself stays out of the context: every timer and promise of the request keeps
 * the context alive, and a request kept with it outlived young-generation GCs.
 */
export function openRequestContext(): (
  req: WithIp,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void {
  const cls = ClsServiceManager.getClsService();
  return (req, _res, next) => {
    cls.run(() => {
      cls.set(CLS_ID, requestIdOf(req));
      cls.set(CLIENT_IP, clientIpOf(req));
      next();
    });
  };
}

/** Request id and client ip of the current request, when there is one. */
export function currentRequest(): { requestId: string | undefined; ip: string | undefined } {
  const cls = ClsServiceManager.getClsService();
  if (!cls.isActive()) return { requestId: undefined, ip: undefined };
  return { requestId: cls.getId(), ip: cls.get<string | undefined>(CLIENT_IP) };
}
