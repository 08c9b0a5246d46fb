// IPv4 address and prefix arithmetic on plain numbers (uint32 in a JS number).
import { invalidArgument } from '../util/index.js';

export interface Cidr {
  /** Network address (host bits cleared). */
  base: number;
  bits: number;
}

export function parseIp(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) throw invalidArgument(`invalid IP address: ${s}`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw invalidArgument(`invalid IP address: ${s}`);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export const isIpv4 = (s: string): boolean => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s);

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export const maskOf = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

/** Parse `a.b.c.d/n`; host bits are cleared (Docker accepts and normalises them). */
export function parseCidr(s: string): Cidr {
  const [ip, len, extra] = s.trim().split('/');
  if (ip === undefined || len === undefined || extra !== undefined || !/^\d{1,2}$/.test(len) || Number(len) > 32) {
    throw invalidArgument(`invalid CIDR address: ${s}`);
  }
  const bits = Number(len);
  return { base: (parseIp(ip) & maskOf(bits)) >>> 0, bits };
}

export const formatCidr = (c: Cidr): string => `${formatIp(c.base)}/${c.bits}`;
export const size = (c: Cidr): number => 2 ** (32 - c.bits);
export const lastOf = (c: Cidr): number => c.base + size(c) - 1;
export const contains = (c: Cidr, ip: number): boolean => ip >= c.base && ip <= lastOf(c);
export const overlaps = (a: Cidr, b: Cidr): boolean => a.base <= lastOf(b) && b.base <= lastOf(a);

/** The subnets of `size` bits inside `pool`, in order (Docker's default-address-pools split). */
export function* subnetsOf(pool: Cidr, bits: number): Generator<Cidr> {
  if (bits < pool.bits) return;
  const step = 2 ** (32 - bits);
  for (let b = pool.base; b <= lastOf(pool); b += step) yield { base: b, bits };
}
