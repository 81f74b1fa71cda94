import { PassThrough } from 'node:stream';
import pino from 'pino';
import { logFormat, prettyDestination } from './logging';

describe('log format', () => {
  it.each([
    [{}, true, 'pretty'],
    [{ NODE_ENV: 'development' }, true, 'pretty'],
    [{ NODE_ENV: 'development' }, false, 'json'],
    [{ NODE_ENV: 'development' }, undefined, 'json'],
    [{ NODE_ENV: 'production' }, true, 'json'],
    [{ NODE_ENV: 'production' }, false, 'json'],
  ])('with %j and stdout a TTY: %s → %s', (env, isTTY, format) => {
    expect(logFormat(env, isTTY)).toBe(format);
  });

  it('pretty lines read as text: time, level and message, no JSON', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const logger = pino({}, prettyDestination(out));
    logger.info({ context: 'main' }, 'ClinCore API listening');
    logger.warn(
      {
        request_id: 'r-1',
        req: { method: 'GET', url: '/cases' },
        res: { status: 401 },
        responseTime: 8,
      },
      'request completed',
    );
    await new Promise((resolve) => setImmediate(resolve));
    const text = chunks.join('');
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[main\] ClinCore API listening$/);
    expect(lines[1]).toMatch(/^\[[\d:.]+\] WARN: request completed GET \/cases 401 \(8 ms\)$/);
    expect(lines[2]).toBe('    request_id: "r-1"');
    expect(text).not.toContain('"msg"');
  });
});
