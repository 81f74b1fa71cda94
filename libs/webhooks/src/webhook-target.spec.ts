import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import {
  guardedLookup,
  refuseAddress,
  refuseNewWebhookUrl,
  refuseWebhookUrl,
} from './webhook-target';
import { sendWebhook } from './webhook-sender';

/** A DNS that answers from a table: no query leaves the machine. */
function stubDns(table: Record<string, string[]>) {
  const asked: string[] = [];
  const resolve = (
    hostname: string,
    _options: object,
    callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
  ): void => {
    asked.push(hostname);
    const addresses = table[hostname];
    if (!addresses)
      return callback(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), []);
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
  return { resolve, asked };
}

describe('webhook targets', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.3.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.251', 'multicast'],
    ['::1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['::ffff:10.0.0.1', 'private'],
    ['2001:db8::1', 'reserved'],
    // Ranges ipaddr.js 1.x has no name for, and would call unicast (found in review).
    ['64:ff9b:1::a9fe:a9fe', 'reserved'],
    ['::7f00:1', 'reserved'], // [::127.0.0.1] as the URL parser writes it
    ['fec0::1', 'reserved'],
    ['100::1', 'reserved'],
    ['5f00::1', 'reserved'],
    ['2001:2::1', 'benchmarking'],
    ['2001:10::1', 'orchid'],
    ['3fff::1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['192.0.0.8', 'reserved'],
    ['203.0.113.7', 'reserved'],
    ['240.0.0.1', 'reserved'],
  ])('refuses %s (%s)', (address, range) => {
    expect(refuseAddress(address)).toBe(range);
  });

  it.each(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'])('accepts %s', (address) => {
    expect(refuseAddress(address)).toBeUndefined();
  });

  it.each([
    'https://[::127.0.0.1]/x',
    'https://[64:ff9b:1::a9fe:a9fe]/x',
    'https://198.18.0.1/x',
    'https://[fec0::1]/x',
    'https://localhost./x',
    'https://LocalHost./x',
    'https://localhost.localdomain/x',
  ])('refuses %s at registration (found in review)', (url) => {
    expect(refuseWebhookUrl(url, { production: true, allowPrivateTargets: false })).toMatch(
      /^url must not point at/,
    );
  });

  it.each([
    [' http://partner.example/x', 'spaces'],
    ['http://partner.example/x ', 'spaces'],
    ['http://partner.example:80\n80/x', 'control characters'],
    ['http://partner.example/o\tk', 'control characters'],
    ['http:\\\\partner.example/x', 'backslashes'],
    ['http://partner.example\\x', 'backslashes'],
    ['http:/partner.example/x', 'scheme://host/path'],
    ['http:///partner.example/x', 'scheme://host/path'],
    ['http://partner.example/x#', 'fragment'],
    ['http://partner.example:0/x', 'port 0'],
  ])('refuses to register %j, which would not be called as written (%s)', (url, reason) => {
    const development = { production: false, allowPrivateTargets: true };
    expect(refuseNewWebhookUrl(url, development)).toContain(reason);
    expect(
      refuseNewWebhookUrl('http://partner.example:8080/x?a=b%20c', development),
    ).toBeUndefined();
    expect(refuseNewWebhookUrl('https://bücher.example/hooks', development)).toBeUndefined();
    // Refused at registration only: one stored before the rule is still sent to (as parsed).
    expect(refuseWebhookUrl(url, development)).toBeUndefined();
  });

  it('asks for https in production, allows http outside it', () => {
    const production = { production: true, allowPrivateTargets: false };
    const development = { production: false, allowPrivateTargets: true };
    expect(refuseWebhookUrl('http://partner.example/x', production)).toBe('url must use https');
    expect(refuseWebhookUrl('https://partner.example/x', production)).toBeUndefined();
    expect(refuseWebhookUrl('http://127.0.0.1:8080/x', development)).toBeUndefined();
    expect(refuseWebhookUrl('http://127.0.0.1:8080/x', production)).toBe('url must use https');
  });

  it('refuses a name that resolves to a private address, before connecting (DNS rebinding)', async () => {
    const dns = stubDns({ 'rebound.example': ['93.184.215.14', '10.0.0.7'] });
    const lookup = guardedLookup(dns.resolve);
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      lookup('rebound.example', {}, (err) => resolve(err)),
    );
    expect(error?.code).toBe('EWEBHOOKTARGET');
    expect(error?.message).toContain('private');
    expect(dns.asked).toEqual(['rebound.example']);
  });

  it('passes on the addresses of a public name', async () => {
    const lookup = guardedLookup(stubDns({ 'public.example': ['93.184.215.14'] }).resolve);
    const answer = await new Promise<[string, number]>((resolve, reject) =>
      lookup('public.example', {}, (err, address, family) =>
        err ? reject(err) : resolve([address as string, family as number]),
      ),
    );
    expect(answer).toEqual(['93.184.215.14', 4]);
  });

  describe('the sender checks again at connect time', () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end();
    });
    let port = 0;
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const message = (url: string) => ({
      url,
      id: 'evt',
      timestamp: 1,
      body: '{}',
      signature: 'v1,x',
    });
    const guarded = {
      production: false,
      allowPrivateTargets: false,
      connectTimeoutMs: 500,
      timeoutMs: 1000,
    };

    it('never connects to a name that resolves to loopback', async () => {
      const dns = stubDns({ 'partner.example': ['127.0.0.1'] });
      const outcome = await sendWebhook(message(`http://partner.example:${port}/x`), {
        ...guarded,
        lookup: guardedLookup(dns.resolve),
      });
      // The tenant is told only that it failed; how the name resolved is for the server log.
      expect(outcome).toEqual({
        ok: false,
        statusCode: null,
        error: 'connection failed: the target refused, could not be reached or is not allowed',
        detail: 'target refused: partner.example resolves to a loopback address',
      });
      expect(dns.asked).toEqual(['partner.example']);
      expect(hits).toBe(0);
    });

    it('never connects to a loopback literal', async () => {
      const outcome = await sendWebhook(message(`http://127.0.0.1:${port}/x`), guarded);
      expect(outcome.error).toBe('refused: url must not point at a loopback address');
      expect(hits).toBe(0);
    });

    it.each([
      [200, { ok: true, statusCode: 200, error: null }],
      [
        503,
        {
          ok: false,
          statusCode: 503,
          error: 'timeout: status 503, but the answer did not end within 300 ms',
        },
      ],
    ])('takes the status of an answer that did not end in time (%s)', async (code, expected) => {
      const slow = createServer((_req, res) => {
        res.writeHead(code);
        res.write('partial');
      });
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      try {
        const outcome = await sendWebhook(
          message(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/x`),
          { ...guarded, allowPrivateTargets: true, timeoutMs: 300 },
        );
        expect(outcome).toEqual(expected);
      } finally {
        slow.closeAllConnections();
        await new Promise<void>((resolve) => slow.close(() => resolve()));
      }
    });

    it('connects when private targets are allowed (development, tests)', async () => {
      const before = hits;
      const outcome = await sendWebhook(message(`http://127.0.0.1:${port}/x`), {
        ...guarded,
        allowPrivateTargets: true,
      });
      expect(outcome).toEqual({ ok: true, statusCode: 200, error: null });
      expect(hits).toBe(before + 1);
    });
  });
});
