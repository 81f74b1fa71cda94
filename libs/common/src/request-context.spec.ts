import { createHook } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClsServiceManager } from 'nestjs-cls';
import { clientIpOf, currentRequest, openRequestContext } from './request-context';

/** A request whose `ip` getter counts its reads, as Express's recomputes on each one. */
function requestWithIp(ip: string | undefined, remoteAddress = '10.0.0.9') {
  const reads = { count: 0 };
  const req = {
    socket: { remoteAddress },
    get ip() {
      reads.count += 1;
      return ip;
    },
  } as unknown as IncomingMessage & { ip?: string };
  return { req, reads };
}

describe('clientIpOf', () => {
  it("answers Express's req.ip and asks Express once per request", () => {
    const { req, reads } = requestWithIp('203.0.113.7');
    expect(clientIpOf(req)).toBe('203.0.113.7');
    expect(clientIpOf(req)).toBe('203.0.113.7');
    expect(reads.count).toBe(1);
  });

  it('falls back to the socket address when Express has none, and keeps that too', () => {
    const { req, reads } = requestWithIp(undefined, '198.51.100.4');
    expect(clientIpOf(req)).toBe('198.51.100.4');
    expect(clientIpOf(req)).toBe('198.51.100.4');
    expect(reads.count).toBe(1);
  });

  it('keeps one answer per request, not one for all', () => {
    expect(clientIpOf(requestWithIp('192.0.2.1').req)).toBe('192.0.2.1');
    expect(clientIpOf(requestWithIp('192.0.2.2').req)).toBe('192.0.2.2');
  });
});

describe('openRequestContext', () => {
  const res = {} as ServerResponse;
  const request = (headers: Record<string, string>, ip: string) =>
    ({ headers, socket: { remoteAddress: ip } }) as unknown as IncomingMessage;

  it("runs the rest of the request in a context of its own, with the request's id and ip", () => {
    const seen: ReturnType<typeof currentRequest>[] = [];
    const open = openRequestContext();
    open(request({ 'x-request-id': 'req-a' }, '192.0.2.10'), res, () =>
      seen.push(currentRequest()),
    );
    open(request({ 'x-request-id': 'req-b' }, '192.0.2.11'), res, () =>
      seen.push(currentRequest()),
    );
    expect(seen).toEqual([
      { requestId: 'req-a', ip: '192.0.2.10' },
      { requestId: 'req-b', ip: '192.0.2.11' },
    ]);
    expect(ClsServiceManager.getClsService().isActive()).toBe(false);
  });

  it('keeps the context for what the request continues with later', async () => {
    const later = new Promise<ReturnType<typeof currentRequest>>((resolve) => {
      openRequestContext()(request({ 'x-request-id': 'req-c' }, '192.0.2.12'), res, () => {
        setTimeout(() => resolve(currentRequest()), 1);
      });
    });
    await expect(later).resolves.toEqual({ requestId: 'req-c', ip: '192.0.2.12' });
  });

  it('creates no promise on the way (each would run the promise hooks per request)', () => {
    let promises = 0;
    const hook = createHook({
      init: (_id, type) => {
        if (type === 'PROMISE') promises += 1;
      },
    }).enable();
    try {
      openRequestContext()(request({}, '192.0.2.13'), res, () => undefined);
    } finally {
      hook.disable();
    }
    expect(promises).toBe(0);
  });
});
