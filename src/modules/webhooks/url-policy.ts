import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Addresses a webhook may not reach unless private targets are allowed: this host, private networks, link-local (cloud metadata), multicast, reserved. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/** True for loopback, private, link-local, multicast and reserved addresses (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why a URL may not receive webhooks, or undefined when it may (at this moment: DNS can change). */
export type UrlCheck = (url: string) => Promise<string | undefined>;

export type Resolve = (hostname: string) => Promise<readonly string[]>;

const resolveAll: Resolve = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true }, (err, addresses: LookupAddress[]) => (err ? reject(err) : resolve(addresses.map((a) => a.address)))));

/**
 * SSRF protection for webhook URLs: http or https only, no credentials in the URL, and (unless
 * `allowPrivate`) no host that is or resolves to a private address. `lookup` applies the same
 * rule at connection time, so a name that resolves elsewhere later (DNS rebinding) is refused too.
 */
export function createUrlPolicy(options: { allowPrivate: boolean; resolve?: Resolve }): { check: UrlCheck; lookup: LookupFunction | undefined } {
  const resolve = options.resolve ?? resolveAll;
  const check: UrlCheck = async (raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return 'is not a valid URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
    if (url.username || url.password) return 'must not carry credentials';
    if (options.allowPrivate) return undefined;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: readonly string[];
    try {
      addresses = isIP(host) ? [host] : await resolve(host);
    } catch {
      return `names a host that does not resolve (${host})`;
    }
    const refused = addresses.find(isPrivateAddress);
    return refused === undefined ? undefined : `resolves to a loopback, private or link-local address (${refused}), which webhooks may not reach (OMNIGATE_WEBHOOK_ALLOW_PRIVATE)`;
  };
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const allowed = addresses.filter((a) => !isPrivateAddress(a.address));
      if (allowed.length === 0) {
        const refused = Object.assign(new Error(`${hostname} resolves only to private addresses, which webhooks may not reach`), { code: 'EPRIVATEADDRESS' });
        return callback(refused, '', 0);
      }
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      const first = allowed[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
  return { check, lookup: options.allowPrivate ? undefined : lookup };
}
