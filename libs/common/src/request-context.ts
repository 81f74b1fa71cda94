import type { IncomingMessage } from 'node:http';
import { ClsServiceManager } from 'nestjs-cls';

const CLIENT_IP = 'clincore.ip';

/** The client's address as Express sees it (honours `trust proxy` when it is set). */
export function clientIpOf(req: IncomingMessage & { ip?: string }): string | undefined {
  return req.ip ?? req.socket.remoteAddress;
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
