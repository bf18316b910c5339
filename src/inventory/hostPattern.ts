// A host as an inventory source writes it: a name, an address or a range, optionally
// followed by ":PORT" (Ansible's parse_address and expand_hostname_range).

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** "gw[1:3]:2222" -> gw1 gw2 gw3 with port 2222; "[2001:db8::1]:22"; "fe80::1" (no port). */
export function expandHostPattern(pattern: string): { names: string[]; port?: number } {
  const bracketed = /^\[([0-9a-fA-F:.]*:[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)\](?::(\d+))?$/.exec(pattern);
  if (bracketed) return withPort([bracketed[1]!], bracketed[2], pattern);
  const m = /^(.*):(\d+)$/.exec(pattern);
  if (m && !m[1]!.replace(/\[[^\]]*\]/g, '').includes(':')) return withPort(expandHostRange(m[1]!), m[2], pattern);
  if (pattern.endsWith(':') && !pattern.replace(/\[[^\]]*\]/g, '').slice(0, -1).includes(':')) {
    throw new Error(`host "${pattern}" ends in ":", which is reserved for a port ("${pattern}22")`);
  }
  // Two colons outside brackets: an IPv6 address, which takes no port unless bracketed.
  return { names: pattern.replace(/\[[^\]]*\]/g, '').includes(':') ? [pattern] : expandHostRange(pattern) };
}

function withPort(names: string[], port: string | undefined, pattern: string): { names: string[]; port?: number } {
  if (port === undefined) return { names };
  const n = Number(port);
  if (n < 1 || n > 65535) throw new Error(`host "${pattern}": port ${port} is not from 1 to 65535`);
  return { names, port: n };
}

/**
 * Ansible's host ranges: "web[01:03]" -> web01 web02 web03, "db-[a:c]" -> db-a db-b
 * db-c, "[1:9:2]" with a step. Several ranges multiply out.
 */
export function expandHostRange(pattern: string): string[] {
  const open = pattern.indexOf('[');
  if (open < 0) {
    if (pattern.includes(']')) throw new Error(`host name "${pattern}" has an unmatched "]"`);
    return [pattern];
  }
  const close = pattern.indexOf(']', open);
  if (close < 0) throw new Error(`host name "${pattern}" has an unmatched "["`);
  const head = pattern.slice(0, open);
  const inner = pattern.slice(open + 1, close);
  const tail = pattern.slice(close + 1);
  const bounds = inner.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) {
    throw new Error(`host name "${pattern}": "[${inner}]" is not a range like [1:3], [01:10], [a:f] or [1:9:2]`);
  }
  const begin = bounds[0] || '0';
  const end = bounds[1]!;
  const stepText = bounds[2] ?? '1';
  if (end === '') throw new Error(`host name "${pattern}": the range has no end`);
  if (!/^\d+$/.test(stepText) || Number(stepText) < 1) {
    throw new Error(`host name "${pattern}": the range's step must be a whole number of at least 1`);
  }
  const step = Number(stepText);
  const width = begin.length > 1 && begin.startsWith('0') ? begin.length : 0;
  if (width && end.length !== width) {
    throw new Error(`host name "${pattern}": a zero-padded range has a start and an end of the same length ([01:10], not [01:100])`);
  }
  const values: string[] = [];
  const from = LETTERS.indexOf(begin);
  const to = LETTERS.indexOf(end);
  if (begin.length === 1 && end.length === 1 && from >= 0 && to >= 0) {
    if (from > to) throw new Error(`host name "${pattern}": the range's start is after its end`);
    for (let i = from; i <= to; i += step) values.push(LETTERS[i]!);
  } else if (/^\d+$/.test(begin) && /^\d+$/.test(end)) {
    const first = Number(begin);
    const last = Number(end);
    if (first > last) throw new Error(`host name "${pattern}": the range's start is after its end`);
    if ((last - first) / step > 100_000) throw new Error(`host name "${pattern}": the range is too large`);
    for (let i = first; i <= last; i += step) values.push(String(i).padStart(width, '0'));
  } else {
    throw new Error(`host name "${pattern}": a range is between two numbers or two letters, not "[${inner}]"`);
  }
  return values.flatMap((v) => expandHostRange(`${head}${v}${tail}`));
}
