import type { IncomingMessage } from 'node:http';
import { ClsServiceManager } from 'nestjs-cls';

const CLIENT_IP = 'clincore.ip';

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

export function setRequestIp(ip: string | undefined): void {
  ClsServiceManager.getClsService().set(CLIENT_IP, ip);
}

/** Request id and client ip of the current request, when there is one. */
export function currentRequest(): { requestId: string | undefined; ip: string | undefined } {
  const cls = ClsServiceManager.getClsService();
  if (!cls.isActive()) return { requestId: undefined, ip: undefined };
  return { requestId: cls.getId(), ip: cls.get<string | undefined>(CLIENT_IP) };
}
