import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { startApi, type TestApi } from '../support/api';

const HEADERS_TIMEOUT_MS = 1_500;
const REQUEST_TIMEOUT_MS = 3_000;
const MAX_HEADER_BYTES = 8 * 1024;

interface RawResult {
  /** First line of what the server sent, if anything. */
  statusLine: string | undefined;
  /** Milliseconds from connect until the server closed the socket. */
  closedAfterMs: number;
}

/**
 * A raw client: writes `head` at once, then `drip` one byte per `dripMs`
 * until the server closes the connection (or `giveUpMs` passes).
 */
function rawRequest(
  port: number,
  head: string,
  drip = '',
  dripMs = 1000,
  giveUpMs = 15_000,
): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const started = Date.now();
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${String(giveUpMs)} ms`));
    }, giveUpMs);
    socket.on('connect', () => {
      socket.write(head);
      let i = 0;
      if (drip)
        timer = setInterval(() => {
          if (!socket.writable) return;
          socket.write(drip.charAt(i % drip.length));
          i += 1;
        }, dripMs);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => undefined); // a reset after the server's answer is a close too
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({
        statusLine: received.split('\r\n')[0] || undefined,
        closedAfterMs: Date.now() - started,
      });
    });
  });
}

/** Bounds that hold against slow and oversized clients, on a real listening socket. */
describe('HTTP resource limits', () => {
  let api: TestApi;
  let port: number;

  beforeAll(async () => {
    api = await startApi({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_MAX_HEADER_BYTES: String(MAX_HEADER_BYTES),
    });
    await api.app.listen(0, '127.0.0.1');
    port = (api.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => api.close());

  const get = (headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${String(port)}/health`, { headers });

  // 12 KiB: over the configured 8 KiB, under Node's default 16 KiB, so the setting is what refuses it.
  it('answers 431 to a request head over the limit, serves one under it, and keeps serving', async () => {
    expect((await get({ 'X-Filler': 'a'.repeat(MAX_HEADER_BYTES / 2) })).status).toBe(200);
    const huge = await rawRequest(
      port,
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(1.5 * MAX_HEADER_BYTES)}\r\n\r\n`,
    );
    expect(huge.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    const many = await rawRequest(
      port,
      `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2_000 }, (_, i) => `X-H${String(i)}: v\r\n`).join('')}\r\n`,
    );
    expect(many.statusLine).toMatch(/^HTTP\/1\.1 431/);
    expect((await get()).status).toBe(200);
  });

  it('cuts off slowloris clients (one header byte a second) at the head deadline while serving others', async () => {
    const slow = Array.from({ length: 5 }, () =>
      rawRequest(port, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ', 'abcdefgh', 1000),
    );
    // Meanwhile, ordinary clients are served promptly.
    const latencies: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const started = Date.now();
      expect((await get()).status).toBe(200);
      latencies.push(Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(Math.max(...latencies)).toBeLessThan(500);
    for (const result of await Promise.all(slow)) {
      expect(result.statusLine).toBe('HTTP/1.1 408 Request Timeout');
      // The deadline, plus at most one check period (1 s at most), plus slack for a busy machine.
      expect(result.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
      expect(result.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 1000 + 1500);
    }
    expect((await get()).status).toBe(200);
  });

  it('cuts off a client that drips its body, at the request deadline', async () => {
    const result = await rawRequest(
      port,
      'POST /cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
      ' ',
      500,
    );
    expect(result.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(result.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 1000 + 1500);
    expect((await get()).status).toBe(200);
  });

  it('refuses a head deadline past the request deadline at start', async () => {
    await api.close();
    await expect(
      startApi({ HTTP_HEADERS_TIMEOUT_MS: '60000', HTTP_REQUEST_TIMEOUT_MS: '30000' }),
    ).rejects.toThrow(/HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS/);
    api = await startApi();
  });
});
