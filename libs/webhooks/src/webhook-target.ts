import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Why a URL may not receive webhooks; undefined when it may. HTTPS only in
 * production (plain http outside it, for receivers on a developer's machine);
 * no credentials in the URL (they would be sent, and shown back, verbatim);
 * an IP literal must be a public unicast address unless private targets are
 * allowed. Host names are checked again on every connection (`guardedLookup`).
 */
export function refuseWebhookUrl(
  raw: string,
  options: { production: boolean; allowPrivateTargets: boolean },
): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url must be an absolute URL';
  }
  if (url.protocol !== 'https:' && (options.production || url.protocol !== 'http:')) {
    return options.production
      ? 'url must use https'
      : 'url must use https (or http outside production)';
  }
  if (url.username || url.password) return 'url must not carry a user name or password';
  if (url.hash) return 'url must not have a fragment';
  if (!options.allowPrivateTargets) {
    const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
    if (host === 'localhost' || host.endsWith('.localhost') || host === 'localhost.localdomain') {
      return 'url must not point at this machine (localhost)';
    }
    // An address Node would connect to that ipaddr.js cannot read is refused, not waved through.
    if (isIP(host) !== 0 && !ipaddr.isValid(host)) return 'url must not point at this address';
    if (ipaddr.isValid(host) && refuseAddress(host)) {
      return `url must not point at a ${refuseAddress(host)} address`;
    }
  }
  return undefined;
}

/**
 * Why a URL may not be registered (create, PATCH): `refuseWebhookUrl`'s
 * rules, and it must be written out as it will be called. The URL parser
 * drops or rewrites whitespace, tabs and newlines, reads a backslash as a
 * slash and a scheme without its `//` as one with it, so the URL a tenant
 * reads back would not be the one called. Only at registration: a URL
 * stored before these rules still works, checked at send time by
 * `refuseWebhookUrl` alone.
 */
export function refuseNewWebhookUrl(
  raw: string,
  options: { production: boolean; allowPrivateTargets: boolean },
): string | undefined {
  const refusal = refuseWebhookUrl(raw, options);
  if (refusal) return refusal;
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (/[\x00-\x20\x7f\\]/.test(raw))
    return 'url must not contain spaces, control characters or backslashes';
  if (!/^[a-z]+:\/\/[^/]/i.test(raw)) return 'url must be written as scheme://host/path';
  if (raw.includes('#')) return 'url must not have a fragment';
  if (new URL(raw).port === '0') return 'url must not use port 0';
  return undefined;
}

/**
 * The range of an address that may not receive webhooks (loopback, private,
 * link-local with the cloud metadata services, multicast, reserved, ...);
 * undefined for a public unicast address. IPv4-mapped IPv6 counts as its IPv4.
 */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** IANA special-purpose ranges (RFC 6890 registries) inside what ipaddr.js 1.x calls unicast. */
const SPECIAL_RANGES: Array<[string, [ipaddr.IPv4 | ipaddr.IPv6, number]]> = [
  ['ietfProtocol', '192.0.0.0/24'],
  ['documentation', '192.0.2.0/24'],
  ['benchmarking', '198.18.0.0/15'],
  ['documentation', '198.51.100.0/24'],
  ['documentation', '203.0.113.0/24'],
  ['reserved', '240.0.0.0/4'],
  ['nat64LocalUse', '64:ff9b:1::/48'],
  ['benchmarking', '2001:2::/48'],
  ['orchid', '2001:10::/28'],
  ['orchid', '2001:20::/28'],
  ['documentation', '2001:db8::/32'],
  ['documentation', '3fff::/20'],
].map(([name, cidr]) => [name as string, ipaddr.parseCIDR(cidr as string)]);

export function refuseAddress(address: string): string | undefined {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  if (range !== 'unicast') return range;
  // ipaddr.js 1.x calls anything it has no name for unicast: public IPv6 is global
  // unicast (2000::/3) only, and both families have special ranges it does not list.
  const address_ = parsed;
  const within = (cidr: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean =>
    cidr[0].kind() === address_.kind() &&
    (address_ as { match(range: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean }).match(cidr);
  if (parsed.kind() === 'ipv6' && !within(GLOBAL_UNICAST_V6)) return 'reserved';
  const special = SPECIAL_RANGES.find(([, cidr]) => within(cidr));
  return special?.[0];
}

type Resolve = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * A `lookup` for http.request that refuses a host when any address it
 * resolves to is refused, before any connection: checked at connect time, so
 * a name that resolved to a public address at registration and to a private
 * one now (DNS rebinding) is still refused. `resolve` is replaceable in tests.
 */
export function guardedLookup(resolve: Resolve = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const refused = addresses.find((entry) => refuseAddress(entry.address) !== undefined);
      if (refused || addresses.length === 0) {
        const reason = refused
          ? `${hostname} resolves to a ${refuseAddress(refused.address)} address`
          : `${hostname} has no address`;
        const refusal: NodeJS.ErrnoException = new Error(`target refused: ${reason}`);
        refusal.code = 'EWEBHOOKTARGET';
        return callback(refusal, '', 0);
      }
      if ((options as { all?: boolean }).all) {
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      }
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}
