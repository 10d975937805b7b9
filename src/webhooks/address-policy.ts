/**
 * @module address-policy
 * Which addresses a webhook may reach: the private, loopback, link-local and reserved
 * ranges (IPv4 and IPv6, IPv6 forms that carry an IPv4 address judged by it), and the
 * operator's allow-list (`CONVEYOR_WEBHOOK_ALLOWLIST`: hostnames, IPs, CIDRs) or
 * `allowPrivate` that let some or all of them through. outbound.ts applies it at connect
 * time and on every redirect.
 */
import net from 'node:net';
import { ValidationError } from '../core/errors.js';

export interface OutboundPolicy {
  /** Allow every private/loopback/link-local target (local development). */
  allowPrivate: boolean;
  /** Hosts (exact hostnames, case-insensitive, or IP literals) or CIDRs (`10.0.0.0/8`, `fd00::/8`) allowed although private. */
  allowlist: readonly string[];
}

const ALLOWLIST_FIELD = 'CONVEYOR_WEBHOOK_ALLOWLIST';

const BLOCKED = new net.BlockList();
for (const cidr of [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
  '2001:db8::/32',
]) {
  const [address, prefix] = cidr.split('/') as [string, string];
  BLOCKED.addSubnet(address, Number(prefix), net.isIP(address) === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Whether `address` (an IP literal, brackets and zone id tolerated) is in a private or
 * reserved range. IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64
 * `64:ff9b::/96`, compatible `::a.b.c.d`) are judged by that IPv4 address, or
 * `::ffff:7f00:1` would walk past the IPv4 rules. Anything that is not an IP is reported
 * blocked: a guard that cannot judge must refuse.
 */
export function isBlockedAddress(address: string): boolean {
  const ip = bareIp(address);
  const family = net.isIP(ip);
  if (family === 4) return BLOCKED.check(ip, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(ip);
  return v4 !== undefined ? BLOCKED.check(v4, 'ipv4') : BLOCKED.check(ip, 'ipv6');
}

/**
 * Reads `CONVEYOR_WEBHOOK_ALLOWLIST`: `'a.example, 10.0.0.0/8 ,::1'` → trimmed entries,
 * empties dropped. Fails at startup on a malformed entry rather than silently allowing
 * less (or more) than the operator meant.
 */
export function parseAllowlist(csv: string | undefined): string[] {
  const entries = (csv ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem) throw new ValidationError([{ field: ALLOWLIST_FIELD, message: `${entry}: ${problem}` }]);
  }
  return entries;
}

function entryProblem(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const address = entry.slice(0, slash);
    const prefix = entry.slice(slash + 1);
    const family = net.isIP(address);
    if (family === 0) return 'a CIDR must start with an IP address';
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128))
      return `prefix must be 0–${family === 4 ? 32 : 128}`;
    return undefined;
  }
  if (net.isIP(bareIp(entry)) !== 0) return undefined;
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(entry) ? undefined : 'not a hostname, IP or CIDR';
}

/** The policy in the shape the checks use; invalid entries throw as in `parseAllowlist`. */
export interface CompiledPolicy {
  allowPrivate: boolean;
  hosts: Set<string>;
  addresses: net.BlockList;
}

export function compilePolicy(policy: OutboundPolicy): CompiledPolicy {
  const hosts = new Set<string>();
  const addresses = new net.BlockList();
  for (const entry of parseAllowlist(policy.allowlist.join(','))) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const ip = bareIp(address);
    const family = net.isIP(ip) === 4 ? 'ipv4' : 'ipv6';
    if (prefix !== undefined) addresses.addSubnet(ip, Number(prefix), family);
    else if (net.isIP(ip) !== 0) addresses.addAddress(ip, family);
    else hosts.add(entry.toLowerCase());
  }
  return { allowPrivate: policy.allowPrivate, hosts, addresses };
}

/** Whether connecting to `address` for a URL whose hostname is `hostname` is refused. */
export function refused(address: string, hostname: string, policy: CompiledPolicy): boolean {
  if (!isBlockedAddress(address)) return false;
  if (policy.allowPrivate || policy.hosts.has(bareIp(hostname).toLowerCase())) return false;
  const ip = bareIp(address);
  const v4 = net.isIP(ip) === 6 ? embeddedIpv4(ip) : undefined;
  const inList = (a: string) => policy.addresses.check(a, net.isIP(a) === 4 ? 'ipv4' : 'ipv6');
  return !(inList(ip) || (v4 !== undefined && inList(v4)));
}

/** `[::1]` → `::1`, `fe80::1%eth0` → `fe80::1` (BlockList quietly says "no" to a zone id). */
export function bareIp(host: string): string {
  const unbracketed = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const zone = unbracketed.indexOf('%');
  return zone >= 0 && unbracketed.includes(':') ? unbracketed.slice(0, zone) : unbracketed;
}

/** The IPv4 address inside a mapped, NAT64 or compatible IPv6 address, if it is one. */
function embeddedIpv4(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  if (!g) return undefined;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const mapped = zero(0, 5) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6);
  const compatible = zero(0, 6);
  if (!mapped && !nat64 && !compatible) return undefined;
  const [hi, lo] = [g[6]!, g[7]!];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** The eight 16-bit groups of a valid IPv6 literal (`::` and a dotted tail expanded). */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((x) => parseInt(x, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<number>(Math.max(fill, 0)).fill(0), ...right];
  return groups.length === 8 && groups.every((x) => Number.isInteger(x)) ? groups : undefined;
}
