// Endpoint names are resolved ONCE, on the controller, with a short timeout, before any
// host is contacted: wg on the host would retry a dead name for minutes in the middle of
// an apply, and an endpoint that resolves differently on every run would never converge.
import { lookup as dnsLookup } from 'node:dns/promises';
import { parseHostAddress } from './address.js';
import { formatEndpoint, parseEndpoint } from './endpoint.js';

/** Resolves a name to addresses (tests inject one: no test asks the machine's resolver about made-up names). */
export type LookupHostname = (name: string) => Promise<string[]>;

const systemLookup: LookupHostname = async (name) => (await dnsLookup(name, { all: true, verbatim: true })).map((entry) => entry.address);

export interface ResolveOptions {
  lookup?: LookupHostname;
  /** Default 2000 ms. */
  timeoutMs?: number;
}

/**
 * "vpn.example.com:51820" -> "192.0.2.7:51820" (the first address a host can have);
 * an endpoint that is already an address comes back as it is. Throws an Error whose
 * message continues `endpoint "..." ` when the name does not resolve in time.
 */
export async function resolveEndpoint(text: string, options: ResolveOptions = {}): Promise<string> {
  const parsed = parseEndpoint(text);
  if (!parsed.ok) throw new Error(`"${text}" ${parsed.problem}`);
  if (!parsed.value.isName) return parsed.value.text;
  const { host, port } = parsed.value;
  const timeoutMs = options.timeoutMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the name ${host} did not resolve within ${timeoutMs} ms`)), timeoutMs);
  });
  let addresses: string[];
  try {
    addresses = await Promise.race([(options.lookup ?? systemLookup)(host), timeout]);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOTFOUND' ? `the name ${host} does not resolve` : (error as Error).message;
    throw new Error(`"${text}": ${reason}; write the peer's address, or fix the name`);
  } finally {
    clearTimeout(timer);
  }
  for (const address of addresses) {
    const usable = parseHostAddress(address);
    if (usable.ok) return formatEndpoint(usable.value.text, port);
  }
  throw new Error(`"${text}": the name ${host} resolves to no address a peer can have (${addresses.join(', ') || 'none'})`);
}
