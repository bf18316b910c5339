// What the tasks that drive `ip` share (ip_rule, ip_route, wireguard_interface's table routes).
import { Type } from '@sinclair/typebox';
import type { Step } from '../types.js';

/** A routing table: its number, or one of the names every Linux host knows. */
export const RoutingTable = (description: string) =>
  Type.Union([Type.Integer({ minimum: 1, maximum: 4294967295 }), Type.String({ pattern: '^(main|local|default|[0-9]+)$' })], {
    description,
  });

const TABLE_NAMES: Record<string, string> = { 253: 'default', 254: 'main', 255: 'local' };

/** A routing table as ip prints it: 254 and "254" are "main" (and "main" stays "main"). */
export const tableName = (table: string | number): string => TABLE_NAMES[String(table)] ?? String(table);

/** IPv4 lines go into the one `ip -batch`; IPv6 ones need `ip -6` and run as shell. */
export function ipStep(family: 'inet' | 'inet6', command: string): Step {
  return family === 'inet'
    ? { kind: 'ip', phase: 'routing', line: command }
    : { kind: 'shell', phase: 'routing', script: `ip -6 ${command}` };
}
