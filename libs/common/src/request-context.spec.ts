import type { IncomingMessage } from 'node:http';
import { clientIpOf } from './request-context';

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
