// nftables set and map elements (nft_element's key and value), in the one form
// `nft -j list` prints them. nft reads "10.0.0.010" as 10.0.0.8 and "010" as 8 (octal),
// stores "10.4.0.1/24" as 10.4.0.0/24, and prints "FD00::1" as fd00::1, "AA:BB:..." as
// aa:bb:..., the range 10.0.0.0-10.0.0.255 as 10.0.0.0/24, 3000-3000 as 3000 and
// 10.0.0.1/32 as 10.0.0.1: comparing spellings would plan a change on every run, or
// write another element than the one meant. Elements are read by their shape, so the
// set's type is not needed (it is known only once the host's facts are in): numbers,
// number ranges, addresses, prefixes, address ranges and MAC addresses are made canonical
// (or refused when ambiguous); anything else (interface names, strings) is kept as written.
import { parseAddress, parsePrefix, type Parsed } from './address.js';

const DIGITS = /^[0-9]+$/;
const MAC = /^[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2}){5}$/;
/** What only an IPv4 or IPv6 address (or prefix) is made of. */
const ADDRESS_LIKE = /^(?:[0-9]+(?:\.[0-9]+){1,3}|[0-9A-Fa-f.:]*:[0-9A-Fa-f.:]*)(?:\/.*)?$/;

const fail = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });
const ok = (value: string): Parsed<string> => ({ ok: true, value });

function number(text: string): Parsed<bigint> {
  if (text.length > 1 && text.startsWith('0')) {
    return fail(`has a leading zero, which nft reads as octal ("010" is 8): write ${BigInt(text)} if the decimal number is meant`);
  }
  return { ok: true, value: BigInt(text) };
}

const bigintOf = (bytes: readonly number[]) => bytes.reduce((sum, byte) => (sum << 8n) | BigInt(byte), 0n);

/** The prefix "from-to" is exactly, if it is one (nft prints such a range as the prefix). */
function rangeAsPrefix(from: readonly number[], to: readonly number[]): number | undefined {
  const bits = from.length * 8;
  const size = bigintOf(to) - bigintOf(from) + 1n;
  if (size <= 0n || (size & (size - 1n)) !== 0n) return undefined;
  const hostBits = size.toString(2).length - 1;
  return bigintOf(from) % size === 0n ? bits - hostBits : undefined;
}

function addressRange(fromText: string, toText: string): Parsed<string> | undefined {
  const from = parseAddress(fromText);
  const to = parseAddress(toText);
  if (!from.ok && !to.ok) return undefined;
  if (!from.ok) return fail(`starts with "${fromText}", which ${from.problem}`);
  if (!to.ok) return fail(`ends with "${toText}", which ${to.problem}`);
  if (from.value.family !== to.value.family) return fail('is a range from an address of one family to one of the other');
  const [first, last] = [bigintOf(from.value.bytes), bigintOf(to.value.bytes)];
  if (first > last) return fail(`is a range that ends below its start, which nft refuses: write ${to.value.text}-${from.value.text}`);
  if (first === last) return ok(from.value.text);
  const length = rangeAsPrefix(from.value.bytes, to.value.bytes);
  // A range that is exactly a prefix starts at its network address.
  return ok(length === undefined ? `${from.value.text}-${to.value.text}` : `${from.value.text}/${length}`);
}

/**
 * An element (or a map's value) as nft prints it, or why nft would read it otherwise
 * than written or refuse it (a sentence continuing `"<text>" ...`).
 */
export function parseNftElement(text: string): Parsed<string> {
  if (DIGITS.test(text)) {
    const parsed = number(text);
    return parsed.ok ? ok(String(parsed.value)) : parsed;
  }
  const dash = text.indexOf('-');
  if (dash > 0 && text.indexOf('-', dash + 1) < 0) {
    const [fromText, toText] = [text.slice(0, dash), text.slice(dash + 1)];
    if (DIGITS.test(fromText) && DIGITS.test(toText)) {
      const [from, to] = [number(fromText), number(toText)];
      if (!from.ok) return from;
      if (!to.ok) return to;
      if (from.value > to.value) return fail(`is a range that ends below its start, which nft refuses: write ${to.value}-${from.value}`);
      return ok(from.value === to.value ? String(from.value) : `${from.value}-${to.value}`);
    }
    const range = addressRange(fromText, toText);
    if (range) return range;
  }
  if (MAC.test(text)) return ok(text.split(':').map((part) => part.toLowerCase().padStart(2, '0')).join(':'));
  if (ADDRESS_LIKE.test(text)) {
    const prefix = parsePrefix(text);
    if (!prefix.ok) return prefix;
    const full = prefix.value.family === 4 ? 32 : 128;
    return ok(prefix.value.length === full ? prefix.value.address : prefix.value.text);
  }
  return ok(text);
}

/** An element as compared: its canonical form, or the text itself when it is not one (a host's odd listing). */
export const nftElementKey = (text: string): string => {
  const parsed = parseNftElement(text);
  return parsed.ok ? parsed.value : text;
};
