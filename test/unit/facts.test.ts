import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { buildFactScript, mergeFileRequests, shellQuote, sysctlPath } from '../../src/facts/factScript.js';
import { WgplayError } from '../../src/errors.js';
import type { HostFacts } from '../../src/facts/types.js';
import { wgPrinting } from './fakeWg.js';
import {
  normalizeNftWhitespace,
  parseFacts,
  parseIpAddresses,
  parseIpLinks,
  parseIpRoutes,
  parseIpRules,
  parseNftRuleset,
  parseNftText,
  parseWgDump,
  splitFactSections,
} from '../../src/facts/parse.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/${name}`, import.meta.url), 'utf8');
const populatedOutput = fixture('facts-populated.txt');
const emptyOutput = fixture('facts-empty.txt');
const section = (output: string, name: string) =>
  splitFactSections(output)
    .find((s) => (s.argument === undefined ? s.name : `${s.name} ${s.argument}`) === name)!
    .lines.join('\n');

// Public keys of the fixture (their private keys only ever lived in a tmpfs).
const WG_A = 'wrQW665VhUULYn1YHvSHnhhmGT4NP8JxGdPMlTraDDo=';
const WG_B = 'umcRHtCjf3RY6cAq+TjCjfsKunpe6/M7YgDRNfN+WAs=';
const PEER_A = '/OOynpMXTEdV/SmPzYsEOR1FUEdmbkHXZ8aw4lFhP0s=';
const PEER_B1 = 'kZQO0LtX4z1rRdM3N4EkAUvWYsEHTvdtf8Fl/U/qmF0=';
const PEER_B2 = 'IhRhvmxU0+FZUaQxfly170YCGKsnQLsuaDVCPKxgq1A=';
const FILES = '/run/wgplay-fixture/files';

describe('parseFacts on a populated gateway (fixtures/facts/facts-populated.txt)', () => {
  // Parsed before each test, not once while the file is collected: mutation testing
  // switches a mutant on only while tests run, and facts parsed before would hide it.
  let facts: HostFacts;
  beforeEach(() => {
    facts = parseFacts(populatedOutput);
  });

  it('reads system facts and programs', () => {
    expect(facts.system).toMatchObject({ kernel: '6.18.44-fc-v782', uid: 0, hostname: 'vm' });
    expect(facts.programs).toMatchObject({ wg: true, 'wireguard-go': true, nft: true, ip: true, sysctl: true, 'wg-quick': true });
    expect(facts.warnings).toBeUndefined();
  });

  it('reads links and addresses', () => {
    expect(facts.links).toEqual([
      { name: 'lo', up: true, mtu: 65536 },
      { name: 'eth0-peer', up: true, kind: 'veth', mtu: 1500 },
      { name: 'eth0', up: true, kind: 'veth', mtu: 1500 },
      { name: 'wg-a', up: true, kind: 'tun', mtu: 1420 },
      { name: 'wg-b', up: true, kind: 'tun', mtu: 1420 },
    ]);
    expect(facts.addresses.filter((a) => a.dev.startsWith('wg-') && !a.local.startsWith('fe80'))).toEqual([
      { dev: 'wg-a', family: 'inet', local: '10.200.200.1', prefixlen: 32 },
      { dev: 'wg-a', family: 'inet6', local: 'fd00:200::1', prefixlen: 128 },
      { dev: 'wg-b', family: 'inet', local: '10.200.200.2', prefixlen: 32 },
    ]);
  });

  it('reads ip rules of both families', () => {
    expect(facts.rules).toEqual([
      { family: 'inet', priority: 0, table: 'local' },
      { family: 'inet', priority: 100, from: '10.200.200.1', table: '41' },
      { family: 'inet', priority: 101, from: '10.200.200.2', table: '42' },
      { family: 'inet', priority: 32766, table: 'main' },
      { family: 'inet', priority: 32767, table: 'default' },
      { family: 'inet6', priority: 0, table: 'local' },
      { family: 'inet6', priority: 100, from: 'fd00:200::1', table: '41' },
      { family: 'inet6', priority: 32766, table: 'main' },
    ]);
  });

  it('reads routes of every table, filling in "main"', () => {
    expect(facts.routes.filter((r) => r.table !== 'local' && !r.dst.startsWith('fe80'))).toEqual([
      { family: 'inet', dst: 'default', dev: 'wg-a', table: '41', scope: 'link' },
      { family: 'inet', dst: '10.0.0.0/24', dev: 'wg-a', table: '41', scope: 'link' },
      { family: 'inet', dst: '10.0.0.0/24', dev: 'wg-b', table: '42', scope: 'link' },
      { family: 'inet', dst: '10.100.100.1', dev: 'wg-a', table: 'main', scope: 'link' },
      { family: 'inet', dst: '10.100.100.2', dev: 'wg-b', table: 'main', scope: 'link' },
      { family: 'inet', dst: '192.0.2.0/24', dev: 'eth0', table: 'main', protocol: 'kernel', scope: 'link', prefsrc: '192.0.2.1' },
      { family: 'inet6', dst: 'fd00:10::/64', dev: 'wg-a', table: '41', metric: 1024 },
      { family: 'inet6', dst: 'fd00:200::1', dev: 'wg-a', table: 'main', protocol: 'kernel', metric: 256 },
    ]);
    expect(facts.routes).toContainEqual({
      family: 'inet', dst: '10.200.200.1', dev: 'wg-a', table: 'local', type: 'local', protocol: 'kernel', scope: 'host', prefsrc: '10.200.200.1',
    });
  });

  it('reads the filter table: chains, policies, rules as nft prints them, sets', () => {
    const filter = facts.nftTables.find((t) => t.family === 'inet' && t.name === 'wgplay_filter')!;
    expect(filter.chains).toEqual([
      {
        name: 'input', type: 'filter', hook: 'input', priority: 0, policy: 'drop',
        rules: [
          'iif "lo" accept',
          'meta l4proto { icmp, ipv6-icmp } accept',
          'ct state vmap { invalid : drop, established : accept, related : accept }',
          'iifname "eth0" tcp dport 22 accept',
          'iifname "eth0" udp dport @wg_ports accept',
          'iifname @wg_ifaces tcp dport 8080 accept',
          'reject',
        ],
        handles: [5, 7, 9, 10, 11, 12, 13],
      },
      { name: 'forward', type: 'filter', hook: 'forward', priority: 0, policy: 'drop', rules: [], handles: [] },
    ]);
    expect(filter.sets).toEqual([
      { kind: 'set', name: 'wg_ifaces', keyType: 'ifname', flags: [], elements: [{ key: 'wg-a' }, { key: 'wg-b' }] },
      { kind: 'set', name: 'wg_ports', keyType: 'inet_service', flags: [], elements: [{ key: '51821' }, { key: '51822' }] },
    ]);
  });

  it('reads the nat table: named maps with their values and the rules using them', () => {
    const nat = facts.nftTables.find((t) => t.family === 'inet' && t.name === 'wgplay_nat')!;
    const map = (name: string, ...pairs: [string, string][]) => ({
      kind: 'map', name, keyType: 'ifname', valueType: 'ipv4_addr', flags: [],
      elements: pairs.map(([key, value]) => ({ key, value })),
    });
    expect(nat.sets).toEqual([
      map('inbound_dnat', ['wg-a', '10.200.200.1'], ['wg-b', '10.200.200.2']),
      map('inbound_snat', ['wg-a', '10.100.100.1'], ['wg-b', '10.100.100.2']),
      map('outbound_dnat', ['wg-a', '10.0.0.1'], ['wg-b', '10.0.0.1']),
      map('outbound_snat', ['wg-a', '10.200.200.1'], ['wg-b', '10.200.200.2']),
    ]);
    expect(nat.chains.map(({ handles: _, ...chain }) => chain)).toEqual([
      { name: 'prerouting', type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept', rules: ['dnat ip to iifname map @inbound_dnat'] },
      { name: 'input', type: 'nat', hook: 'input', priority: 100, policy: 'accept', rules: ['snat ip to iifname map @inbound_snat'] },
      { name: 'output', type: 'nat', hook: 'output', priority: -100, policy: 'accept', rules: ['dnat ip to oifname map @outbound_dnat'] },
      { name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept', rules: ['snat ip to oifname map @outbound_snat'] },
    ]);
  });

  it('reads other set forms and rule forms (table ip wgplay_extra)', () => {
    const extra = facts.nftTables.find((t) => t.family === 'ip' && t.name === 'wgplay_extra')!;
    expect(extra.sets).toEqual([
      {
        kind: 'set', name: 'nets', keyType: 'ipv4_addr', flags: ['interval'],
        elements: [{ key: '10.0.0.0/24' }, { key: '10.1.0.0/16' }, { key: '172.16.0.5' }, { key: '192.168.1.1-192.168.1.20' }],
      },
      { kind: 'set', name: 'pairs', keyType: 'ipv4_addr . inet_service', flags: [], elements: [{ key: '10.0.0.1 . 22' }, { key: '10.0.0.2 . 80' }] },
      {
        kind: 'map', name: 'port_dnat', keyType: 'inet_service', valueType: 'ipv4_addr', flags: ['interval'],
        elements: [{ key: '22', value: '10.0.0.1' }, { key: '51820-51899', value: '10.9.9.9' }],
      },
      {
        kind: 'map', name: 'jumps', keyType: 'ifname', valueType: 'verdict', flags: [],
        elements: [{ key: 'wg-a', value: 'accept' }, { key: 'wg-b', value: 'jump customer' }],
      },
      {
        kind: 'set', name: 'many', keyType: 'inet_service', flags: [],
        elements: Array.from({ length: 20 }, (_, i) => ({ key: String(i + 1) })),
      },
    ]);
    expect(extra.chains).toEqual([
      // A regular chain: its comment is not a rule; `# handle 1` inside the rule's comment stays.
      { name: 'customer', rules: ['ip saddr @nets counter accept comment "customer { nets } # handle 1"'], handles: [8] },
      {
        name: 'prerouting', type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept',
        rules: [
          // In a table of family ip, nft drops the "ip" of "dnat ip to" unless the map key needs it.
          'dnat to iifname map { "wg-a" : 10.200.200.1, "wg-b" : 10.200.200.2 }',
          'dnat ip to ip daddr . tcp dport map { 10.0.0.1 . 80 : 10.2.2.2 . 8080 }',
          'udp dport 51820-51899 dnat to 10.1.1.1',
          'iifname vmap @jumps',
          'ip saddr { 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5, 10.0.0.6, 10.0.0.7, 10.0.0.8, 10.0.0.9, 10.0.0.10, 10.0.0.11, 10.0.0.12 } meta mark set 0x00000001 counter',
        ],
        handles: [10, 12, 13, 14, 16],
      },
    ]);
  });

  it('reads WireGuard interfaces and peers without any secret', () => {
    expect(facts.wg).toEqual({
      'wg-a': {
        name: 'wg-a', publicKey: WG_A, listenPort: 51821,
        peers: [
          {
            publicKey: PEER_A, hasPresharedKey: false, endpoint: '192.0.2.10:51820', allowedIps: ['10.0.0.1/32'],
            latestHandshake: 0, rxBytes: 0, txBytes: 148, persistentKeepalive: 25,
          },
        ],
      },
      'wg-b': {
        name: 'wg-b', publicKey: WG_B, listenPort: 51822, fwmark: '0x1234',
        peers: [
          { publicKey: PEER_B1, hasPresharedKey: true, allowedIps: ['10.0.0.1/32', '10.0.1.0/24'], latestHandshake: 0, rxBytes: 0, txBytes: 0 },
          { publicKey: PEER_B2, hasPresharedKey: false, allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0 },
        ],
      },
    });
  });

  it('reads files: content, secrets without content, wg keys as public keys, directories, missing', () => {
    expect(facts.files[`${FILES}/app.conf`]).toEqual({
      path: `${FILES}/app.conf`, exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root', size: 12,
      sha256: '0083dacc561dfd01081d8554269e201f4b60fe597ab9892977bfde81da46ef60', content: 'listen 8080\n',
    });
    expect(facts.files[`${FILES}/secret.env`]).toEqual({
      path: `${FILES}/secret.env`, exists: true, type: 'file', mode: '0600', owner: 'root', group: 'root', size: 24,
      sha256: '0ace9a9b086d71ad95f8dbcb077ea193ea6aa3d0d6ce9bfbb84a10250fca1656',
    });
    // The key file of wg-a: its public key is the live interface's.
    expect(facts.files[`${FILES}/wg-a.key`]).toMatchObject({ exists: true, mode: '0600', wgPublicKey: WG_A });
    expect(facts.files[`${FILES}/wg-a.key`].content).toBeUndefined();
    expect(facts.files[`${FILES}/we'ird $(x) name\nline`]).toMatchObject({ exists: true, content: 'odd\n' });
    expect(facts.files[`${FILES}/dir`]).toMatchObject({ exists: true, type: 'directory', mode: '0755' });
    expect(facts.files[`${FILES}/big.bin`]).toMatchObject({ exists: true, size: 300000 });
    expect(facts.files[`${FILES}/big.bin`].content).toBeUndefined();
    expect(facts.files[`${FILES}/missing`]).toEqual({ path: `${FILES}/missing`, exists: false });
  });

  it('reads sysctls, null for a missing key', () => {
    expect(facts.sysctls).toEqual({
      'net.ipv4.ip_forward': '1',
      'net.ipv4.ip_local_port_range': '32768\t60999',
      'net.ipv4.conf.all.src_valid_mark': '0',
      'net.ipv4.no_such_key': null,
    });
  });
});

describe('parseFacts on an empty namespace (fixtures/facts/facts-empty.txt)', () => {
  it('gives empty lists, not errors', () => {
    const facts = parseFacts(emptyOutput);
    expect(facts.links).toEqual([{ name: 'lo', up: false, mtu: 65536 }]);
    expect(facts.addresses).toEqual([]);
    expect(facts.routes).toEqual([]);
    expect(facts.nftTables).toEqual([]);
    expect(facts.wg).toEqual({});
    expect(facts.files).toEqual({});
    expect(facts.sysctls).toEqual({});
    expect(facts.rules.map((r) => `${r.family} ${r.priority} ${r.table}`)).toEqual([
      'inet 0 local', 'inet 32766 main', 'inet 32767 default', 'inet6 0 local', 'inet6 32766 main',
    ]);
    expect(facts.warnings).toBeUndefined();
  });

  it('reads output with CRLF line ends, or without a last newline, as the same facts', () => {
    expect(parseFacts(emptyOutput.replace(/\n/g, '\r\n'))).toEqual(parseFacts(emptyOutput));
    expect(parseFacts(emptyOutput.replace(/\n$/, ''))).toEqual(parseFacts(emptyOutput));
  });

  it('reads the system section trimmed, and what is not a number as unknown', () => {
    const withSystem = (uid: string, clock: string, inotify: string[]) =>
      parseFacts(
        emptyOutput
          .replace('@@wgplay uid\n0\n', `@@wgplay uid\n${uid}\n`)
          .replace('@@wgplay kernel\n6.18.44-fc-v782\n', '@@wgplay kernel\n 6.1.0-13-amd64 \n')
          .replace('@@wgplay hostname\nvm\n', '@@wgplay hostname\n gw1\n')
          .replace('@@wgplay end', ['@@wgplay clock', clock, '@@wgplay inotify', ...inotify, '@@wgplay end'].join('\n')),
      );
    const known = withSystem(' 1000 ', ' 1764633600', ['kernel-wireguard 1', 'in-use 17 ']);
    expect(known.system).toEqual({ kernel: '6.1.0-13-amd64', uid: 1000, hostname: 'gw1', clock: 1764633600 });
    expect(known.inotify).toEqual({ kernelWireguard: true, instancesInUse: 17 });
    const before = Math.floor(Date.now() / 1000);
    const unknown = withSystem('x1', '17646x', ['kernel-wireguard 0', 'in-use many']);
    expect(unknown.system.uid).toBe(-1);
    // No clock read: the controller's own, in seconds.
    expect(unknown.system.clock).toBeGreaterThanOrEqual(before);
    expect(unknown.system.clock).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(unknown.inotify).toEqual({ kernelWireguard: false, instancesInUse: 0 });
    expect(withSystem('0', '1', ['kernel-wireguard 1']).inotify).toEqual({ kernelWireguard: true });
  });

  it('refuses truncated or foreign output', () => {
    expect(() => parseFacts('')).toThrow(/no facts/);
    expect(() => parseFacts(emptyOutput.replace('@@wgplay end\n', ''))).toThrow(/incomplete/);
    expect(() => parseFacts(emptyOutput.replace('@@wgplay end\n', '@@wgplay file "/x\n@@wgplay end\n'))).toThrow(new WgplayError('fact output: cannot read the marker line "@@wgplay file \\"/x"'));
    expect(() => parseFacts('bash: not found\n')).toThrow(/no facts/);
    expect(() => parseFacts(emptyOutput.replace('@@wgplay facts 1', '@@wgplay facts 99'))).toThrow(/format 99/);
  });

  it('reports absent tools as absent and failed commands as warnings', () => {
    const output = emptyOutput
      .replace(/^nft 1$/m, 'nft 0')
      .replace(/^wg 1$/m, 'wg 0')
      .replace(/(@@wgplay nft-json\n)[^@]*@@wgplay rc 0/, '$1@@wgplay rc 127')
      .replace(/(@@wgplay nft-text\n)@@wgplay rc 0/, '$1@@wgplay rc 127')
      .replace(/(@@wgplay wg-dump\n)@@wgplay rc 0/, '$1@@wgplay rc 127')
      .replace(/(@@wgplay ip-rule inet6\n)[^@]*@@wgplay rc 0/, '$1@@wgplay rc 2');
    const facts = parseFacts(output);
    expect(facts.programs.nft).toBe(false);
    expect(facts.programs.wg).toBe(false);
    expect(facts.nftTables).toEqual([]);
    expect(facts.wg).toEqual({});
    expect(facts.rules.every((r) => r.family === 'inet')).toBe(true);
    expect(facts.warnings).toEqual(['ip -j -6 rule show exited with status 2']);
  });

  it.each([
    ['names the daemons that did not answer alone', 124, ['wg-b', 'wg-a'], 'the wireguard-go daemon of wg-a, wg-b does not answer'],
    ['says a daemon did not answer when none could be named', 137, [], 'a wireguard-go daemon does not answer'],
  ])('a wg dump that timed out %s, and reads as a warning, not as "no interfaces"', (_, rc, names, words) => {
    const output = populatedOutput.replace(/(@@wgplay wg-dump\n)[^@]*@@wgplay rc 0\n/, `$1@@wgplay rc ${rc}\n@@wgplay wg-unanswered\n${names.map((name) => `${name}\n`).join('')}`);
    const facts = parseFacts(output);
    expect(facts.wg).toEqual({});
    expect(facts.warnings).toEqual([`wg show all dump did not finish: ${words} (stopped or hung); the WireGuard state cannot be read until it answers or is restarted`]);
  });
});

describe('ip parsers', () => {
  it('reads rule selectors beyond from/to/table', () => {
    const json = JSON.stringify([
      { priority: 101, src: '10.200.0.0', srclen: 16, dst: '10.3.0.0', dstlen: 16, fwmark: '0x5', iif: 'v0', table: '42' },
      { priority: 102, not: null, src: 'all', fwmark: '0xca6c', fwmask: '0xff', table: '51820' },
      { priority: 103, src: 'all', action: 'unreachable' },
      { priority: 104, src: 'all', goto: 32766 },
      { priority: 105, src: '10.0.0.1', srclen: 32, table: 'main', suppress_prefixlen: 0 },
    ]);
    expect(parseIpRules(json, 'inet')).toEqual([
      { family: 'inet', priority: 101, from: '10.200.0.0/16', to: '10.3.0.0/16', fwmark: '0x5', iif: 'v0', table: '42' },
      { family: 'inet', priority: 102, not: true, fwmark: '0xca6c/0xff', table: '51820' },
      { family: 'inet', priority: 103, table: '', action: 'unreachable' },
      { family: 'inet', priority: 104, table: '', action: 'goto 32766' },
      { family: 'inet', priority: 105, from: '10.0.0.1', table: 'main', other: ['suppress_prefixlen 0'] },
    ]);
  });

  it('keeps route destinations as printed', () => {
    const json = '[{"type":"blackhole","dst":"10.77.0.0/16","table":"41","flags":[]},{"dst":"default","gateway":"192.0.2.254","dev":"eth0","flags":[]}]';
    expect(parseIpRoutes(json, 'inet')).toEqual([
      { family: 'inet', dst: '10.77.0.0/16', table: '41', type: 'blackhole' },
      { family: 'inet', dst: 'default', gateway: '192.0.2.254', dev: 'eth0', table: 'main' },
    ]);
  });

  // The message names the command whose output it was.
  it.each([
    ['ip -j -d link show', (text: string) => parseIpLinks(text)],
    ['ip -j addr show', (text: string) => parseIpAddresses(text)],
    ['ip -j -4 rule show', (text: string) => parseIpRules(text, 'inet')],
    ['ip -j -6 rule show', (text: string) => parseIpRules(text, 'inet6')],
    ['ip -j -4 route show table all', (text: string) => parseIpRoutes(text, 'inet')],
    ['ip -j -6 route show table all', (text: string) => parseIpRoutes(text, 'inet6')],
  ])('rejects output of %s that is not JSON, or not a JSON array; reads none as nothing, and skips what is not an object', (command, parse) => {
    expect(() => parse('Usage: ip ...')).toThrow(new WgplayError(`cannot parse the output of ${command}: Unexpected token 'U', "Usage: ip ..." is not valid JSON`));
    expect(() => parse('{"dev": "eth0"}')).toThrow(new WgplayError(`the output of ${command} is not a JSON array`));
    expect(parse(' \n')).toEqual([]);
    expect(parse('[null, 1, "x"]')).toEqual([]);
  });
});

describe('nft parser', () => {
  const json = section(populatedOutput, 'nft-json');
  const text = section(populatedOutput, 'nft-text');

  it('reads the same tables from the text alone (nft built without JSON)', () => {
    expect(parseNftRuleset('', text)).toEqual(parseNftRuleset(json, text));
  });

  it('refuses JSON it cannot read, naming the command', () => {
    expect(() => parseNftRuleset('Error: syntax error', text)).toThrow(new WgplayError(`cannot parse the output of nft -j list ruleset: Unexpected token 'E', "Error: syntax error" is not valid JSON`));
    expect(() => parseNftRuleset('{"tables": []}', text)).toThrow(new WgplayError('the output of nft -j list ruleset has no "nftables" list'));
  });

  it('the -a listing is the plain listing plus handles', () => {
    const plain = fixture('gateway.nft.listed');
    // gateway.nft.listed was listed without -s: counters carry their values there.
    const stateless = plain.replace(/ counter packets \d+ bytes \d+/g, ' counter');
    const rules = (listing: string) => parseNftText(listing).flatMap((t) => t.chains.flatMap((c) => c.rules));
    expect(rules(stateless)).toEqual(rules(text));
  });

  it('joins a rule printed over several lines and keeps quoted text as it is', () => {
    const listing = [
      'table inet t { # handle 7',
      '\tcounter c { # handle 2',
      '\t\tpackets 0 bytes 0',
      '\t}',
      '',
      '\tchain input { # handle 1',
      '\t\tcomment "chain  comment"',
      '\t\ttype filter hook input priority filter + 5; policy accept;',
      '\t\tip saddr { 10.0.0.1,',
      '\t\t\t    10.0.0.2 } accept comment "two  spaces { # handle 3" # handle 4',
      '\t\tdnat ip to iifname map { "wg-a" : 10.200.200.1,',
      '\t\t\t\t\t    "wg-b" : 10.200.200.2 } # handle 5',
      '\t}',
      '}',
      'table netdev n {',
      '\tchain ing {',
      '\t\ttype filter hook ingress device "lo" priority -500; policy drop;',
      '\t}',
      '}',
    ].join('\n');
    expect(parseNftRuleset('', listing)).toEqual([
      {
        family: 'inet', name: 't', sets: [],
        chains: [
          {
            name: 'input', type: 'filter', hook: 'input', priority: 5, policy: 'accept', handles: [4, 5],
            rules: [
              'ip saddr { 10.0.0.1, 10.0.0.2 } accept comment "two  spaces { # handle 3"',
              'dnat ip to iifname map { "wg-a" : 10.200.200.1, "wg-b" : 10.200.200.2 }',
            ],
          },
        ],
      },
      { family: 'netdev', name: 'n', sets: [], chains: [{ name: 'ing', type: 'filter', hook: 'ingress', priority: -500, policy: 'drop', rules: [], handles: [] }] },
    ]);
  });

  it('reads JSON element forms: elem wrappers, ranges, concatenations, verdicts', () => {
    const ruleset = {
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'inet', name: 't', handle: 1 } },
        {
          set: {
            family: 'inet', name: 'tm', table: 't', type: 'ipv4_addr', handle: 2, flags: 'timeout',
            elem: [{ elem: { val: '1.2.3.4', timeout: 1800, expires: 1794, comment: 'hi' } }, '5.6.7.8'],
          },
        },
        {
          map: {
            family: 'inet', name: 'm', table: 't', type: ['ipv4_addr', 'inet_service'], map: 'verdict', handle: 3,
            elem: [[{ concat: ['10.0.0.1', 22] }, { goto: { target: 'c' } }], [{ concat: [{ prefix: { addr: '10.1.0.0', len: 16 } }, { range: [1, 1024] }] }, { drop: null }]],
          },
        },
        { set: { family: 'inet', name: 'empty', table: 't', type: 'ifname', handle: 4 } },
      ],
    };
    expect(parseNftRuleset(JSON.stringify(ruleset), '')).toEqual([
      {
        family: 'inet', name: 't', chains: [],
        sets: [
          { kind: 'set', name: 'tm', keyType: 'ipv4_addr', flags: ['timeout'], elements: [{ key: '1.2.3.4' }, { key: '5.6.7.8' }] },
          {
            kind: 'map', name: 'm', keyType: 'ipv4_addr . inet_service', valueType: 'verdict', flags: [],
            elements: [{ key: '10.0.0.1 . 22', value: 'goto c' }, { key: '10.1.0.0/16 . 1-1024', value: 'drop' }],
          },
          { kind: 'set', name: 'empty', keyType: 'ifname', flags: [], elements: [] },
        ],
      },
    ]);
  });

  it('normalizes whitespace outside quotes only', () => {
    expect(normalizeNftWhitespace('  iifname  "a  b"\t accept  ')).toBe('iifname "a  b" accept');
  });
});

describe('WireGuard redaction', () => {
  // wg-show-all-dump.txt is a real `wg show all dump` whose private and preshared keys
  // were replaced by these made-up ones before it was committed.
  const FAKE_PRIVATE = 'FAKEPRIVATEKEYfakeprivatekeyFAKEPRIVATEKEY0=';
  const FAKE_PSK = 'FAKEPRESHAREDKEYfakepresharedkeyFAKEPRESHA0=';
  const raw = fixture('wg-show-all-dump.txt');

  it('the raw fixture holds (fake) secrets', () => {
    expect(raw).toContain(FAKE_PRIVATE);
    expect(raw).toContain(FAKE_PSK);
  });

  it('the parser never keeps a private or preshared key, even when fed one', () => {
    const wg = parseWgDump(raw);
    const serialized = JSON.stringify(wg);
    expect(serialized).not.toContain(FAKE_PRIVATE);
    expect(serialized).not.toContain(FAKE_PSK);
    expect(serialized).not.toMatch(/FAKE/i);
    expect(wg['wg-a'].publicKey).toBe(WG_A);
    expect(wg['wg-b'].peers[0].hasPresharedKey).toBe(true);
    expect(wg['wg-b'].peers[1].hasPresharedKey).toBe(false);
    expect(parseWgDump(raw)).toEqual(parseFacts(populatedOutput).wg);
  });

  it('reads CRLF lines, spaced allowed IPs, keepalive off or a number, and counters that are not numbers as 0', () => {
    const dump = [
      `wg-c\t(set)\t${WG_A}\t51830\t0x10\r`,
      `wg-c\t${PEER_A}\t\t(none)\t10.0.0.1/32, fd00::1/128,\tx\t-1\t2\t25\r`,
      `wg-c\t${PEER_B1}\t(set)\t192.0.2.1:51820\t\t1700000000\t3\t4\toff`,
      `wg-c\t${PEER_B2}\t(none)\t(none)\t(none)\t0\t0\t0\t25s`,
    ].join('\n');
    expect(parseWgDump(dump)).toEqual({
      'wg-c': {
        name: 'wg-c',
        publicKey: WG_A,
        listenPort: 51830,
        fwmark: '0x10',
        peers: [
          { publicKey: PEER_A, hasPresharedKey: false, allowedIps: ['10.0.0.1/32', 'fd00::1/128'], latestHandshake: 0, rxBytes: 0, txBytes: 2, persistentKeepalive: 25 },
          { publicKey: PEER_B1, hasPresharedKey: true, allowedIps: [], latestHandshake: 1700000000, rxBytes: 3, txBytes: 4, endpoint: '192.0.2.1:51820' },
          { publicKey: PEER_B2, hasPresharedKey: false, allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0 },
        ],
      },
    });
  });

  it('an interface without a private key has no public key', () => {
    expect(parseWgDump('wg-c\t(none)\t(none)\t0\toff\n')).toEqual({ 'wg-c': { name: 'wg-c', listenPort: 0, peers: [] } });
  });

  it('the fact script strips the keys on the host (its awk run over the raw dump)', () => {
    const prelude = buildFactScript().split('\nm facts ')[0];
    const script = `${prelude}\n${wgPrinting(scratch(), raw)}\nwg_dump\n`;
    const stripped = execFileSync('bash', ['-s'], { input: script, encoding: 'utf8' });
    expect(stripped).not.toMatch(/FAKE/i);
    expect(stripped.split('\n').filter(Boolean)).toEqual([
      `wg-b\t(set)\t${WG_B}\t51822\t0x1234`,
      `wg-b\t${PEER_B1}\t(set)\t(none)\t10.0.0.1/32,10.0.1.0/24\t0\t0\t0\toff`,
      `wg-b\t${PEER_B2}\t(none)\t(none)\t(none)\t0\t0\t0\toff`,
      `wg-a\t(set)\t${WG_A}\t51821\toff`,
      `wg-a\t${PEER_A}\t(none)\t192.0.2.10:51820\t10.0.0.1/32\t0\t0\t148\t25`,
      '@@wgplay rc 0',
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// The script itself.

const scratchDirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgplay-facts-test-'));
  scratchDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

const NASTY = `we'ird "dq" $(touch PWNED) \`touch PWNED2\` $HOME a  b\nsecond line; rm -rf x`;

describe('buildFactScript', () => {
  it('quotes paths and keys as single literal words', () => {
    expect(shellQuote(`a'b`)).toBe(`'a'\\''b'`);
    expect(shellQuote('$(x) `y` "z"\n')).toBe(`'$(x) \`y\` "z"\n'`);
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });

  it('maps sysctl keys to /proc/sys like sysctl does, refusing traversal', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath('net.ipv4.conf.eth0/100.forwarding')).toBe('/proc/sys/net/ipv4/conf/eth0.100/forwarding');
    expect(() => sysctlPath('net.//.//.//etc.shadow')).toThrow(/invalid sysctl key/);
    expect(() => sysctlPath('')).toThrow(/invalid sysctl key/);
    expect(() => buildFactScript({ sysctls: ['a..b'] })).toThrow(/invalid sysctl key/);
    // A "/" in a key stands for a "." in the path: "a./.b" would be /proc/sys/a/./b.
    expect(() => sysctlPath('a./.b')).toThrow(/invalid sysctl key "a\.\/\.b"/);
    expect(() => sysctlPath('net.ipv4\0x')).toThrow(/invalid sysctl key/);
  });

  it('merges two requests for one file into what both need', () => {
    const path = '/etc/x';
    expect(mergeFileRequests(undefined, { path, secret: true })).toEqual({ path, secret: true });
    expect(mergeFileRequests({ path, expectSha256: 'ab', contentLimit: 10, statOnly: true }, { path, secret: true, wgKey: true, wgInterface: 'wg-a', expectSha256: 'ab', statOnly: true })).toEqual({
      path,
      secret: true,
      wgKey: true,
      wgInterface: 'wg-a',
      statOnly: true,
      expectSha256: 'ab',
      contentLimit: 256 * 1024,
    });
    // Content travels if either wants it; only a hash both expect saves sending it.
    expect(mergeFileRequests({ path, wgInterface: 'wg-b', expectSha256: 'ab', contentLimit: 300 * 1024 }, { path, statOnly: true, expectSha256: 'cd' })).toEqual({
      path,
      secret: false,
      wgKey: false,
      wgInterface: 'wg-b',
      statOnly: false,
      expectSha256: undefined,
      contentLimit: 300 * 1024,
    });
  });

  it('refuses an empty path', () => {
    expect(() => buildFactScript({ files: [{ path: '/etc/x' }, { path: '' }] })).toThrow(new WgplayError('cannot gather facts of a file with an empty path'));
  });

  it('is valid bash whatever the paths', () => {
    const script = buildFactScript({ files: [{ path: `/${NASTY}` }, { path: `/x/${NASTY}`, wgKey: true }], sysctls: [`net.ipv4.conf.we'ird$(x).forwarding`] });
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
    expect(script.endsWith('m end\n')).toBe(true);
  });

  it('refuses a relative path (find would read "-name" or "(" as its own words)', () => {
    expect(() => buildFactScript({ files: [{ path: '-delete' }] })).toThrow(/relative path: -delete/);
  });

  it('reports wgKey files as secret even when requested twice', () => {
    const script = buildFactScript({ files: [{ path: '/k' }, { path: '/k', wgKey: true }] });
    // One entry for the file: its public key derived (P), its content never sent (not in C).
    expect(script).toMatch(/^F=\('?\/k'?\)$/m);
    expect(script).toMatch(/^P=\(0\)$/m);
    expect(script).toMatch(/^C=\(\)$/m);
  });
});

// Runs the real script in a fresh network namespace with a private /run (so no other
// wireguard-go socket is visible). Needs root, iproute2, nft and wg (test/preflight.ts).

function runInNamespace(script: string): string {
  const ns = `wgf-unit-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    return execFileSync(
      'ip',
      ['netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private', 'bash', '-c', 'mount -t tmpfs tmpfs /run && mkdir -p /run/wireguard && bash -s'],
      { input: script, encoding: 'utf8', timeout: 30_000 },
    );
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

describe('the fact script on this machine, in a fresh namespace', () => {
  it('reads an empty namespace', () => {
    const facts = parseFacts(runInNamespace(buildFactScript({ sysctls: ['net.ipv4.ip_forward', 'net.ipv4.no_such_key'] })));
    expect(facts.links).toEqual([{ name: 'lo', up: false, mtu: 65536 }]);
    expect(facts.routes).toEqual([]);
    expect(facts.nftTables).toEqual([]);
    expect(facts.wg).toEqual({});
    expect(facts.sysctls).toEqual({ 'net.ipv4.ip_forward': '0', 'net.ipv4.no_such_key': null });
    expect(facts.system.uid).toBe(0);
    expect(facts.warnings).toBeUndefined();
  });

  it('reads files with hostile names without running any of them', () => {
    const dir = scratch();
    const nasty = join(dir, NASTY);
    writeFileSync(nasty, 'hello\n', { mode: 0o640 });
    const key = join(dir, `key '$(touch PWNED3)`);
    const privateKey = execFileSync('wg', ['genkey'], { encoding: 'utf8' });
    writeFileSync(key, privateKey, { mode: 0o600 });
    const publicKey = execFileSync('wg', ['pubkey'], { input: privateKey, encoding: 'utf8' }).trim();
    const script = buildFactScript({ files: [{ path: nasty }, { path: key, wgKey: true }, { path: join(dir, 'missing $(x)') }] });

    const output = runInNamespace(script.replace('m facts 1', `cd ${shellQuote(dir)}\nm facts 1`));
    const facts = parseFacts(output);
    for (const canary of ['PWNED', 'PWNED2', 'PWNED3']) expect(existsSync(join(dir, canary))).toBe(false);
    expect(facts.files[nasty]).toMatchObject({ exists: true, type: 'file', mode: '0640', size: 6, content: 'hello\n' });
    expect(facts.files[key]).toMatchObject({ exists: true, mode: '0600', wgPublicKey: publicKey });
    expect(facts.files[key].content).toBeUndefined();
    expect(output).not.toContain(privateKey.trim());
    expect(facts.files[join(dir, 'missing $(x)')]).toEqual({ path: join(dir, 'missing $(x)'), exists: false });
  });

  it('reads type, mode, owner, group, size and sha256 of many files in one pass, and content only where it may travel', () => {
    const dir = scratch();
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    const path = (name: string) => join(dir, name);
    const made = (name: string, mode: number, content?: string) => {
      if (content === undefined) mkdirSync(path(name));
      else writeFileSync(path(name), content);
      chmodSync(path(name), mode);
    };
    made('plain.conf', 0o604, 'a = 1\n');
    made('current.conf', 0o600, 'same\n');
    made('big.bin', 0o644, 'x'.repeat(40));
    made('secret.env', 0o640, 'TOKEN=1\n');
    chownSync(path('secret.env'), 1234, 4321);
    made('folder', 0o750);
    const keyConfig = `[Interface]\nPrivateKey = ${execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim()}\n`;
    made('wg-like.conf', 0o600, keyConfig);
    // Who owns what this test makes (root in CI), as find names them.
    const [owner, group] = execFileSync('stat', ['-c', '%U %G', dir], { encoding: 'utf8' }).trim().split(' ');
    const script = buildFactScript({
      files: [
        { path: path('plain.conf') },
        { path: path('current.conf'), expectSha256: sha256('same\n') },
        { path: path('big.bin'), contentLimit: 10 },
        { path: path('secret.env'), secret: true },
        { path: path('folder') },
        { path: path('wg-like.conf') },
        { path: path('missing') },
      ],
    });
    const { files } = parseFacts(runInNamespace(script));
    const file = (name: string, content: string, mode: string, extra: object = {}) => ({ path: path(name), exists: true, type: 'file', mode, owner, group, size: content.length, sha256: sha256(content), ...extra });
    expect(files).toEqual({
      [path('plain.conf')]: file('plain.conf', 'a = 1\n', '0604', { content: 'a = 1\n' }),
      // The host already has what the task wants: no content travels.
      [path('current.conf')]: file('current.conf', 'same\n', '0600'),
      [path('big.bin')]: file('big.bin', 'x'.repeat(40), '0644'),
      [path('secret.env')]: { ...file('secret.env', 'TOKEN=1\n', '0640'), owner: '1234', group: '4321' },
      [path('folder')]: { path: path('folder'), exists: true, type: 'directory', mode: '0750', owner, group, size: statSync(path('folder')).size },
      // Not marked secret, but it holds a private key: never sent.
      [path('wg-like.conf')]: file('wg-like.conf', keyConfig, '0600', { holdsKey: true }),
      [path('missing')]: { path: path('missing'), exists: false },
    });
  });

  it("compares a key file with its interface's live key on the host, from the one wg dump, never printing it", () => {
    const dir = scratch();
    const [keyA, keyB] = ['A', 'B'].map((name) => join(dir, `wg-${name}.key`));
    const [privateA, privateB] = [0, 1].map(() => execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim());
    writeFileSync(keyA!, `${privateA}\n`, { mode: 0o600 });
    writeFileSync(keyB!, `${privateB}\n`, { mode: 0o600 });
    // wg-a runs with keyA's key, wg-b with another one.
    const dump = `wg-a\t${privateA}\t${WG_A}\t51821\toff\nwg-b\t${privateA}\t${WG_B}\t51822\toff\n`;
    const script = buildFactScript({ files: [{ path: keyA!, wgInterface: 'wg-a' }, { path: keyB!, wgInterface: 'wg-b' }] });
    const output = runInNamespace(script.replace('m facts 1', `${wgPrinting(dir, dump)}\nm facts 1`));
    const facts = parseFacts(output);
    expect(facts.files[keyA!]).toMatchObject({ exists: true, type: 'file', mode: '0600', wgKeyMatchesInterface: true });
    expect(facts.files[keyB!]).toMatchObject({ exists: true, type: 'file', wgKeyMatchesInterface: false });
    expect(facts.files[keyA!]!.content).toBeUndefined();
    expect(output).not.toContain(privateA);
    expect(output).not.toContain(privateB);
  });

  it('reads where symbolic links point, dangling ones too, and compares a boot file with its live table', () => {
    const dir = scratch();
    const target = join(dir, 'wg-quick@.service');
    writeFileSync(target, '[Service]\n');
    symlinkSync(target, join(dir, "wg-quick@wg-a.service"));
    symlinkSync(join(dir, 'gone $(touch PWNED4)'), join(dir, 'dangling'));
    const table = { family: 'inet', name: 'wgplay_t' };
    const files = [join(dir, 'wg-quick@wg-a.service'), join(dir, 'dangling'), target].map((path) => ({ path, statOnly: true }));
    // Without a private /etc, the boot file is missing: the comparison still runs on the live table.
    const script = buildFactScript({ files, nftBootFiles: [table] });
    const facts = parseFacts(runInNamespace(`nft add table inet wgplay_t\n${script}`));
    expect(existsSync(join(dir, 'PWNED4'))).toBe(false);
    expect(facts.files[join(dir, 'wg-quick@wg-a.service')]).toMatchObject({ exists: true, type: 'file', linkTarget: target });
    expect(facts.files[join(dir, 'dangling')]).toEqual({ path: join(dir, 'dangling'), exists: true, type: 'other', linkTarget: join(dir, 'gone $(touch PWNED4)') });
    expect(facts.files[target]).toMatchObject({ exists: true, type: 'file' });
    expect(facts.files[target]!.linkTarget).toBeUndefined();
    expect(facts.files[target]!.content).toBeUndefined();
    expect(facts.nftBootFiles['inet wgplay_t']).toEqual({ path: '/etc/wgplay/nftables/inet-wgplay_t.nft', exists: false, live: true, matchesLive: false });
    expect(facts.system.clock).toBeGreaterThan(1_700_000_000);
  });

  it('reads every table as nft spells it in one scratch namespace, each as if alone, and only checks them without unshare', () => {
    // A text longer than one command-line argument may be (128 KiB).
    const comments = Array.from({ length: 2000 }, (_, i) => `\t# ${String(i).padStart(70, '.')}\n`).join('');
    const tables = [
      { family: 'inet', name: 'wgplay_a', text: 'table inet wgplay_a {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tip saddr 10.1.2.3/8 accept\n\t}\n}' },
      { family: 'ip', name: 'wgplay_b', text: `table ip wgplay_b {\n${comments}\tset big {\n\t\ttype ipv4_addr\n\t\telements = { 10.0.0.1, 10.0.0.2 }\n\t}\n\tchain c {\n\t\tip daddr @big drop\n\t}\n}` },
      { family: 'inet', name: 'wgplay_bad', text: 'table inet wgplay_bad {\n\tchain c {\n\t\ttcp dport 70000 accept\n\t}\n}' },
      // Loadable only in an empty ruleset: the first table's name, as another family's.
      { family: 'ip', name: 'wgplay_a', text: 'table ip wgplay_a {\n\tchain c {\n\t\ttcp dport 22 accept\n\t}\n}' },
    ];
    expect(tables[1]!.text.length).toBeGreaterThan(128 * 1024);
    const script = buildFactScript({ nftCanonical: tables });
    const facts = parseFacts(runInNamespace(script));
    expect(facts.nftCanonical).toEqual({
      'inet wgplay_a': { mode: 'scratch', rules: { input: ['ip saddr 10.0.0.0/8 accept'] } },
      'ip wgplay_b': { mode: 'scratch', rules: { c: ['ip daddr @big drop'] } },
      'inet wgplay_bad': { mode: 'scratch', error: expect.stringMatching(/^\/dev\/stdin:3:\d+-\d+: Error: Service out of range\n.*70000/) },
      'ip wgplay_a': { mode: 'scratch', rules: { c: ['tcp dport 22 accept'] } },
    });
    // The host's own ruleset is not touched: the namespace the script ran in has no table.
    expect(parseFacts(runInNamespace(`${script}\nnft list tables`)).nftTables).toEqual([]);

    const bin = scratch();
    for (const tool of ['ip', 'nft', 'awk', 'cat', 'stat', 'sha256sum', 'base64']) {
      symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
    }
    const checked = parseFacts(runInNamespace(script.replace(/^PATH=.*$/m, `PATH=${shellQuote(bin)}`))).nftCanonical;
    expect(checked).toEqual({
      'inet wgplay_a': { mode: 'check' },
      'ip wgplay_b': { mode: 'check' },
      'inet wgplay_bad': { mode: 'check', error: expect.stringMatching(/^\/dev\/stdin:3:\d+-\d+: Error: Service out of range\n.*70000/) },
      'ip wgplay_a': { mode: 'check' },
    });
  });

  it('does not stop when nft and wg are absent', () => {
    const bin = scratch();
    for (const tool of ['ip', 'awk', 'cat', 'uname', 'id', 'stat', 'sha256sum', 'base64']) {
      const path = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      symlinkSync(path, join(bin, tool));
    }
    const script = buildFactScript({ sysctls: ['net.ipv4.ip_forward'] }).replace(/^PATH=.*$/m, `PATH=${shellQuote(bin)}`);
    const facts = parseFacts(runInNamespace(script));
    expect(facts.programs).toMatchObject({ nft: false, wg: false, 'wireguard-go': false, ip: true });
    expect(facts.nftTables).toEqual([]);
    expect(facts.wg).toEqual({});
    expect(facts.links.map((l) => l.name)).toEqual(['lo']);
    expect(facts.sysctls).toEqual({ 'net.ipv4.ip_forward': '0' });
    expect(facts.warnings).toBeUndefined();
  });
});
