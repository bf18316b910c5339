// Parsers for iproute2's JSON output (`ip -j ...`, iproute2 5.x/6.x).

import { WgplayError } from '../errors.js';
import type { AddressFact, LinkFact, RouteFact, RuleFact } from './types.js';

type Family = 'inet' | 'inet6';
type Json = Record<string, unknown>;

/** Parses a JSON array printed by `ip -j`; empty text (no output) is an empty list. */
function parseIpJson(text: string, what: string): Json[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new WgplayError(`cannot parse the output of ${what}: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) throw new WgplayError(`the output of ${what} is not a JSON array`);
  return value.filter((item): item is Json => typeof item === 'object' && item !== null);
}

const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
const num = (value: unknown): number | undefined =>
  typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined;

/** `ip -j -d link show` */
export function parseIpLinks(text: string): LinkFact[] {
  return parseIpJson(text, 'ip -j -d link show').flatMap((link) => {
    const name = str(link.ifname);
    if (!name) return [];
    const flags = Array.isArray(link.flags) ? link.flags : [];
    const linkinfo = link.linkinfo as Json | undefined;
    const fact: LinkFact = { name, up: flags.includes('UP') };
    const kind = str(linkinfo?.info_kind);
    if (kind) fact.kind = kind;
    const mtu = num(link.mtu);
    if (mtu !== undefined) fact.mtu = mtu;
    const alias = str(link.ifalias);
    if (alias) fact.alias = alias;
    return [fact];
  });
}

/** `ip -j addr show` */
export function parseIpAddresses(text: string): AddressFact[] {
  return parseIpJson(text, 'ip -j addr show').flatMap((link) => {
    const dev = str(link.ifname);
    if (!dev || !Array.isArray(link.addr_info)) return [];
    return (link.addr_info as Json[]).flatMap((info) => {
      const local = str(info.local);
      const prefixlen = num(info.prefixlen);
      if ((info.family !== 'inet' && info.family !== 'inet6') || !local || prefixlen === undefined) return [];
      return [{ dev, family: info.family, local, prefixlen } satisfies AddressFact];
    });
  });
}

function withPrefix(address: string, length: unknown, family: Family): string {
  const len = num(length);
  const full = family === 'inet' ? 32 : 128;
  return len === undefined || len === full ? address : `${address}/${len}`;
}

const RULE_KEYS = new Set([
  'priority', 'src', 'srclen', 'dst', 'dstlen', 'table', 'not', 'fwmark', 'fwmask', 'iif', 'oif',
  'action', 'goto', 'flags', 'protocol',
]);

/** `ip -j -4 rule show` (family "inet") or `ip -j -6 rule show` ("inet6"). */
export function parseIpRules(text: string, family: Family): RuleFact[] {
  return parseIpJson(text, `ip -j ${family === 'inet' ? '-4' : '-6'} rule show`).map((rule) => {
    const fact: RuleFact = { family, priority: num(rule.priority) ?? 0, table: str(rule.table) ?? '' };
    const src = str(rule.src);
    if (src && src !== 'all') fact.from = withPrefix(src, rule.srclen, family);
    const dst = str(rule.dst);
    if (dst && dst !== 'all') fact.to = withPrefix(dst, rule.dstlen, family);
    if ('not' in rule) fact.not = true;
    const fwmark = str(rule.fwmark);
    if (fwmark) fact.fwmark = rule.fwmask !== undefined ? `${fwmark}/${str(rule.fwmask)}` : fwmark;
    const iif = str(rule.iif);
    if (iif) fact.iif = iif;
    const oif = str(rule.oif);
    if (oif) fact.oif = oif;
    if (rule.goto !== undefined) fact.action = `goto ${str(rule.goto)}`;
    else if (str(rule.action)) fact.action = str(rule.action);
    const other = Object.keys(rule)
      .filter((key) => !RULE_KEYS.has(key))
      .map((key) => {
        const value = rule[key];
        return value === null || value === undefined ? key : `${key} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`;
      })
      .sort();
    if (other.length > 0) fact.other = other;
    return fact;
  });
}

/** `ip -j -4 route show table all` (family "inet") or `ip -j -6 route show table all` ("inet6"). */
export function parseIpRoutes(text: string, family: Family): RouteFact[] {
  return parseIpJson(text, `ip -j ${family === 'inet' ? '-4' : '-6'} route show table all`).flatMap((route) => {
    const dst = str(route.dst);
    if (!dst) return [];
    // ip -j leaves out the table for main and the type for unicast routes.
    const fact: RouteFact = { family, dst, table: str(route.table) ?? 'main' };
    const optional = ['dev', 'gateway', 'protocol', 'scope', 'type', 'prefsrc'] as const;
    for (const key of optional) {
      const value = str(route[key]);
      if (value !== undefined) fact[key] = value;
    }
    const metric = num(route.metric);
    if (metric !== undefined) fact.metric = metric;
    return [fact];
  });
}
