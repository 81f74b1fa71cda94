import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
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
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (host === 'localhost' || host.endsWith('.localhost')) {
      return 'url must not point at this machine (localhost)';
    }
    if (ipaddr.isValid(host) && refuseAddress(host)) {
      return `url must not point at a ${refuseAddress(host)} address`;
    }
  }
  return undefined;
}

/**
 * The range of an address that may not receive webhooks (loopback, private,
 * link-local with the cloud metadata services, multicast, reserved, ...);
 * undefined for a public unicast address. IPv4-mapped IPv6 counts as its IPv4.
 */
export function refuseAddress(address: string): string | undefined {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  return range === 'unicast' ? undefined : range;
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
