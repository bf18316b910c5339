// The gateway's record read strictly, and rebuilt from what the host shows
// (`--rebuild-record`): src/modules/gateway/record.ts through readRecord.
import { describe, expect, it } from 'vitest';
import { blankFacts } from '../../src/facts/blankFacts.js';
import type { HostFacts } from '../../src/facts/types.js';
import type { GatewayArgs } from '../../src/modules/gateway/args.js';
import { readRecord } from '../../src/modules/gateway/record.js';
import { gatewayArgs } from './validatedTask.js';

const RECORD = '/var/lib/wgplay/gateway.json';
const KEY = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';
const args = (customers: { name: string; interface?: string }[] = []): GatewayArgs =>
  gatewayArgs({
    public_interface: 'eth0',
    public_address: '203.0.113.2',
    ssh: { interfaces: 'any' },
    customers: customers.map((customer) => ({ public_key: KEY, address: '10.0.0.1', our_address: '10.0.0.2', ...customer })),
  });
const entry = { interface: 'wg-a', listen_port: 51821, table: 41, our_translated_address: '10.200.200.1', translated_address: '10.100.100.1' };
const recordOf = (customers: unknown) => JSON.stringify({ version: 1, customers });
const withFile = (file: Partial<HostFacts['files'][string]>) => blankFacts({ files: { [RECORD]: { path: RECORD, exists: true, type: 'file', mode: '0600', ...file } } });

describe("the gateway's record, read strictly", () => {
  it('is none before the first apply, or without facts', () => {
    expect(readRecord(args(), blankFacts())).toBeUndefined();
    expect(readRecord(args(), undefined)).toBeUndefined();
  });

  it('reads a valid record, at the limits of every field', () => {
    const customers = { a: entry, b: { ...entry, interface: 'x', listen_port: 65535, table: 4294967295 }, c: { ...entry, listen_port: 1, table: 1 } };
    expect(readRecord(args(), withFile({ content: recordOf(customers) }))).toEqual({ version: 1, customers });
  });

  it.each([
    ['null', 'is not a JSON object'],
    ['"x"', 'is not a JSON object'],
    ['[]', 'is not a JSON object'],
    ['{"customers":{}}', 'has version undefined, this wgplay reads version 1'],
    ['{"version":"1","customers":{}}', 'has version "1", this wgplay reads version 1'],
    ['{"version":1}', 'has no "customers" object'],
    ['{"version":1,"customers":null}', 'has no "customers" object'],
    ['{"version":1,"customers":[]}', 'has no "customers" object'],
    ['{"version":1,"customers":"a"}', 'has no "customers" object'],
    [recordOf({ a: null }), 'has an invalid entry for customer "a"'],
    [recordOf({ a: 7 }), 'has an invalid entry for customer "a"'],
    [recordOf({ a: { ...entry, interface: 7 } }), 'has an invalid interface for customer "a"'],
    [recordOf({ a: { ...entry, interface: '-f' } }), 'has an invalid interface for customer "a"'],
    [recordOf({ a: { ...entry, listen_port: 0 } }), 'has an invalid listen_port for customer "a"'],
    [recordOf({ a: { ...entry, listen_port: 65536 } }), 'has an invalid listen_port for customer "a"'],
    [recordOf({ a: { ...entry, listen_port: 1.5 } }), 'has an invalid listen_port for customer "a"'],
    [recordOf({ a: { ...entry, listen_port: '51821' } }), 'has an invalid listen_port for customer "a"'],
    [recordOf({ a: { ...entry, table: 0 } }), 'has an invalid table for customer "a"'],
    [recordOf({ a: { ...entry, table: 4294967296 } }), 'has an invalid table for customer "a"'],
    [recordOf({ a: { ...entry, our_translated_address: 7 } }), 'has an invalid our_translated_address for customer "a"'],
    [recordOf({ a: { ...entry, our_translated_address: '10.200.200.01' } }), 'has an invalid our_translated_address for customer "a"'],
    [recordOf({ a: entry, b: { ...entry, translated_address: undefined } }), 'has an invalid translated_address for customer "b"'],
    [recordOf({ a: { ...entry, translated_address: 'fd00::1' } }), 'has an invalid translated_address for customer "a"'],
  ])('refuses %s: it %s', (content, why) => {
    expect(() => readRecord(args(), withFile({ content }))).toThrow(
      new Error(
        `the gateway's record ${RECORD} ${why}: wgplay cannot tell which customers it made on this host, so it changes nothing. ` +
          'Restore the file, or run "wgplay apply --rebuild-record" to rebuild it from what is on the host ' +
          "(interfaces named wg-*, their files, the elements of wgplay's nftables sets and maps).",
      ),
    );
  });

  it.each([
    [{ type: 'directory' as const }, 'is not a regular file'],
    [{ type: 'other' as const, content: recordOf({}) }, 'is not a regular file'],
    [{}, 'cannot be read'],
    [{ sha256: 'ab' }, 'is too large to read'],
    [{ content: '{' }, 'is not valid JSON ('],
  ])('refuses a record file that %j: it %s', (file, why) => {
    expect(() => readRecord(args(), withFile(file))).toThrow(`the gateway's record ${RECORD} ${why}`);
  });
});

describe("the gateway's record, rebuilt from the host", () => {
  // wg-a: every value shows. wg-b: translated address from its host route, not the map.
  // wg-c: a rule at another priority, so no table: an orphan. wg-d: an idle TUN of ours,
  // wg-e a TUN that is not.
  // other0: not a gateway interface. special: customer s's explicit interface.
  const host = (): HostFacts =>
    blankFacts({
      links: [
        // The alias wgplay gives its TUNs.
        { name: 'wg-d', up: true, kind: 'tun', alias: 'wgplay' },
        { name: 'wg-e', up: true, kind: 'tun' },
      ],
      wg: Object.fromEntries(['wg-a', 'wg-b', 'wg-c', 'other0', 'special'].map((name, index) => [name, { name, listenPort: 51821 + index, peers: [] }])),
      addresses: [
        { dev: 'wg-a', family: 'inet', local: '10.200.200.1', prefixlen: 32 },
        { dev: 'wg-a', family: 'inet6', local: 'fd00::1', prefixlen: 128 },
        { dev: 'wg-b', family: 'inet', local: '10.200.200.2', prefixlen: 32 },
        { dev: 'wg-c', family: 'inet', local: '10.200.200.3', prefixlen: 32 },
        { dev: 'special', family: 'inet', local: '10.200.200.5', prefixlen: 32 },
      ],
      rules: [
        { family: 'inet', priority: 100, from: '10.200.200.1', table: '41' },
        { family: 'inet', priority: 100, from: '10.200.200.2', table: '42' },
        { family: 'inet', priority: 99, from: '10.200.200.3', table: '43' },
        { family: 'inet', priority: 100, from: '10.200.200.5', table: 'main' },
      ],
      routes: [
        { family: 'inet', dst: '10.100.100.9', dev: 'wg-a', table: 'main' },
        { family: 'inet', dst: '10.100.100.2', dev: 'wg-b', table: 'main' },
        { family: 'inet', dst: '10.100.0.0/16', dev: 'wg-c', table: 'main' },
        { family: 'inet', dst: '10.100.100.3', dev: 'wg-c', table: '43' },
      ],
      nftTables: [{ family: 'inet', name: 'wgplay_nat', chains: [], sets: [{ kind: 'map', name: 'inbound_snat', keyType: 'ifname', valueType: 'ipv4_addr', flags: [], elements: [{ key: 'wg-a', value: '10.100.100.1' }] }] }],
    });

  it('records every gateway interface whose values all show, under its name without the prefix; a listed customer with what shows of it', () => {
    expect(readRecord(args([{ name: 'c' }, { name: 's', interface: 'special' }, { name: 'd' }, { name: 'e' }]), host(), true)).toEqual({
      version: 1,
      customers: {
        a: { interface: 'wg-a', listen_port: 51821, table: 41, our_translated_address: '10.200.200.1', translated_address: '10.100.100.1' },
        b: { interface: 'wg-b', listen_port: 51822, table: 42, our_translated_address: '10.200.200.2', translated_address: '10.100.100.2' },
        // Listed: whatever shows seeds its allocation (no table at priority 100, no host route).
        c: { interface: 'wg-c', listen_port: 51823, our_translated_address: '10.200.200.3' },
        // Its rule's table is not a number: no table.
        s: { interface: 'special', listen_port: 51825, our_translated_address: '10.200.200.5' },
        // Our TUN whose daemon is gone shows its name alone; wg-e, a TUN that is not ours, nothing.
        d: { interface: 'wg-d' },
      },
    });
  });

  it('leaves out an unlisted interface it cannot read back completely (an orphan, removed), and interfaces without the prefix', () => {
    const rebuilt = readRecord(args(), host(), true)!;
    expect(Object.keys(rebuilt.customers).sort()).toEqual(['a', 'b']);
    // No prefix: only customers' explicit interfaces are the gateway's.
    expect(readRecord({ ...args(), interface_prefix: '' }, host(), true)).toEqual({ version: 1, customers: {} });
  });
});
