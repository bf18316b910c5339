// The facts a saved plan depends on: canonical, without what moves on its own.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blankFacts } from '../../src/facts/blankFacts.js';
import { canonicalFacts, factsDrift, factsFingerprint } from '../../src/facts/fingerprint.js';
import type { FactRequest, HostFacts } from '../../src/facts/types.js';

const KEY = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';
const request: FactRequest = { files: [{ path: '/etc/x' }], sysctls: ['net.ipv4.ip_forward'], nftTables: [{ family: 'inet', name: 'wgplay_nat' }] };

function facts(overrides: (facts: HostFacts) => void = () => undefined): HostFacts {
  const base = blankFacts();
  base.rules.push({ family: 'inet', priority: 100, from: '10.0.0.2', table: '41' });
  base.wg['wg-a'] = {
    name: 'wg-a',
    listenPort: 51821,
    peers: [{ publicKey: KEY, hasPresharedKey: false, allowedIps: ['10.0.0.1/32'], latestHandshake: 1700000000, rxBytes: 10, txBytes: 20, endpoint: '192.0.2.1:4000' }],
  };
  base.nftTables.push(
    { family: 'inet', name: 'wgplay_nat', chains: [], sets: [{ kind: 'map', name: 'snat', keyType: 'ifname', valueType: 'ipv4_addr', flags: [], elements: [{ key: 'wg-a', value: '10.0.0.2' }] }] },
    { family: 'inet', name: 'f2b', chains: [], sets: [{ kind: 'set', name: 'banned', keyType: 'ipv4_addr', flags: [], elements: [{ key: '198.51.100.7' }] }] },
  );
  base.files['/etc/x'] = { path: '/etc/x', exists: true, type: 'file', mode: '0644', sha256: 'ab', content: 'x\n' };
  base.sysctls['net.ipv4.ip_forward'] = '1';
  overrides(base);
  return base;
}

const fingerprintOf = (value: HostFacts) => factsFingerprint(canonicalFacts(value, request));

describe('the facts fingerprint of a saved plan', () => {
  it('is the same for the same state, whatever the order the host listed it in, and ignores handshakes, byte counters and a roaming endpoint', () => {
    const moved = facts((f) => {
      const peer = f.wg['wg-a']!.peers[0]!;
      Object.assign(peer, { latestHandshake: 1800000000, rxBytes: 99999, txBytes: 5, endpoint: '198.51.100.9:5000' });
      f.nftTables.reverse();
    });
    expect(fingerprintOf(moved)).toBe(fingerprintOf(facts()));
  });

  it('ignores tables no task reads (a fail2ban set), files and sysctls not asked for, and what the kernel adds by itself', () => {
    const other = facts((f) => {
      f.addresses.push({ dev: 'eth0', family: 'inet6', local: 'fe80::1812:b3ff:fe1a:2531', prefixlen: 64 });
      f.routes.push(
        { family: 'inet6', dst: 'fe80::1812:b3ff:fe1a:2531', dev: 'eth0', table: 'local', protocol: 'kernel', type: 'local', metric: 0 },
        { family: 'inet6', dst: 'fe80::/64', dev: 'eth0', table: 'main', protocol: 'kernel', metric: 256 },
        { family: 'inet', dst: '10.0.0.2', dev: 'wg-a', table: 'local', protocol: 'kernel', type: 'local' },
      );
      f.nftTables[1]!.sets[0]!.elements.push({ key: '203.0.113.5' });
      f.files['/etc/unrelated'] = { path: '/etc/unrelated', exists: true };
      f.sysctls['net.ipv4.conf.all.rp_filter'] = '2';
    });
    expect(fingerprintOf(other)).toBe(fingerprintOf(facts()));
  });

  it('changes with anything a plan reads, and the drift names it', () => {
    const cases: ((f: HostFacts) => void)[] = [
      (f) => f.rules.push({ family: 'inet', priority: 101, from: '10.0.0.9', table: '41' }),
      (f) => (f.rules[0]!.priority = 99),
      (f) => f.routes.push({ family: 'inet', dst: '10.0.0.1', dev: 'wg-a', table: '41' }),
      (f) => f.links.push({ name: 'wg-b', up: true }),
      (f) => f.addresses.push({ dev: 'wg-a', family: 'inet', local: '10.0.0.2', prefixlen: 32 }),
      (f) => (f.wg['wg-a']!.listenPort = 51822),
      (f) => f.wg['wg-a']!.peers[0]!.allowedIps.push('10.0.0.3/32'),
      (f) => (f.nftTables[0]!.sets[0]!.elements[0]!.value = '10.0.0.3'),
      (f) => (f.files['/etc/x']!.sha256 = 'cd'),
      (f) => (f.files['/etc/x']!.mode = '0600'),
      (f) => (f.sysctls['net.ipv4.ip_forward'] = '0'),
      (f) => (f.programs.nft = false),
    ];
    for (const change of cases) expect(fingerprintOf(facts(change)), String(change)).not.toBe(fingerprintOf(facts()));
    const drift = factsDrift(canonicalFacts(facts(), request), canonicalFacts(facts(cases[7]!), request));
    expect(drift).toEqual([
      '- nft-element {"family":"inet","key":"wg-a","set":"snat","table":"wgplay_nat","value":"10.0.0.2"}',
      '+ nft-element {"family":"inet","key":"wg-a","set":"snat","table":"wgplay_nat","value":"10.0.0.3"}',
    ]);
  });

  it('never holds file content (only its hash)', () => {
    expect(canonicalFacts(facts(), request).join('\n')).not.toContain('"content"');
  });
});

describe('the canonical fact lines', () => {
  it('are one sorted line per fact a plan reads, keys sorted, without what the kernel owns, content or counters', () => {
    const f = blankFacts({ programs: { nft: true, wg: false } });
    f.links = [{ name: 'wg-a', up: true, mtu: 1420, kind: 'wireguard' }];
    f.addresses = [{ dev: 'wg-a', family: 'inet', local: '10.0.0.2', prefixlen: 32 }, { dev: 'wg-a', family: 'inet6', local: 'fe80::1', prefixlen: 64 }, { dev: 'wg-a', family: 'inet6', local: 'fd00::2', prefixlen: 64 }];
    f.rules = [{ family: 'inet', priority: 100, from: '10.0.0.2', table: '41' }];
    f.routes = [{ family: 'inet', dst: '10.0.0.1', dev: 'wg-a', table: '41' }, { family: 'inet', dst: '10.0.0.2', dev: 'wg-a', table: 'local', protocol: 'kernel', type: 'local' }, { family: 'inet', dst: '10.0.0.3', dev: 'wg-a', table: 'local', protocol: 'static' }, { family: 'inet6', dst: 'ff00::/8', dev: 'wg-a', table: 'local' }, { family: 'inet', dst: '10.9.0.0/16', dev: 'wg-a', table: 'main', protocol: 'kernel' }];
    f.wg = { 'wg-a': { name: 'wg-a', listenPort: 51821, publicKey: 'PUB', peers: [{ publicKey: 'PEER', hasPresharedKey: true, allowedIps: ['10.0.0.1/32', 'fd00::1/128'], latestHandshake: 5, rxBytes: 1, txBytes: 2, endpoint: '192.0.2.1:1', persistentKeepalive: 25 }] } };
    f.nftTables = [{ family: 'inet', name: 't', chains: [{ name: 'c', type: 'filter', hook: 'input', priority: 0, policy: 'accept', rules: ['accept'], handles: [3] }], sets: [{ kind: 'set', name: 's', keyType: 'ipv4_addr', flags: ['interval'], elements: [{ key: '10.0.0.0/24' }] }] }];
    f.files = { '/etc/x': { path: '/etc/x', exists: true, type: 'file', mode: '0644', sha256: 'ab', content: 'x\n' } };
    f.sysctls = { 'net.ipv4.ip_forward': '1' };
    f.nftBootFiles = { 'inet t': { path: '/etc/wgplay/nftables/inet-t.nft', exists: true, live: true, matchesLive: false, content: 'c', liveContent: 'l' } };
    const request: FactRequest = {
      files: [{ path: '/etc/x' }, { path: '/etc/none' }],
      sysctls: ['net.ipv4.ip_forward', 'kernel.none'],
      nftTables: [{ family: 'inet', name: 't' }],
      nftBootFiles: [{ family: 'inet', name: 't' }, { family: 'ip', name: 'none' }],
    };
    expect(canonicalFacts(f, request)).toEqual([
      'address {"dev":"wg-a","family":"inet","local":"10.0.0.2","prefixlen":32}',
      'address {"dev":"wg-a","family":"inet6","local":"fd00::2","prefixlen":64}',
      'file {"exists":true,"mode":"0644","path":"/etc/x","sha256":"ab","type":"file"}',
      'link {"kind":"wireguard","mtu":1420,"name":"wg-a","up":true}',
      'nft-boot-file {"exists":true,"live":true,"matchesLive":false,"path":"/etc/wgplay/nftables/inet-t.nft"}',
      'nft-chain {"family":"inet","handles":[3],"hook":"input","name":"c","policy":"accept","priority":0,"rules":["accept"],"table":"t","type":"filter"}',
      'nft-element {"family":"inet","key":"10.0.0.0/24","set":"s","table":"t"}',
      'nft-set {"family":"inet","flags":["interval"],"keyType":"ipv4_addr","kind":"set","name":"s","table":"t"}',
      'nft-table {"family":"inet","table":"t"}',
      'program {"present":false,"program":"wg"}',
      'program {"present":true,"program":"nft"}',
      'route {"dev":"wg-a","dst":"10.0.0.1","family":"inet","table":"41"}',
      // The local table's routes that are not the kernel's, and the main table's that are, stay.
      'route {"dev":"wg-a","dst":"10.0.0.3","family":"inet","protocol":"static","table":"local"}',
      'route {"dev":"wg-a","dst":"10.9.0.0/16","family":"inet","protocol":"kernel","table":"main"}',
      'rule {"family":"inet","from":"10.0.0.2","priority":100,"table":"41"}',
      'sysctl {"key":"kernel.none","value":null}',
      'sysctl {"key":"net.ipv4.ip_forward","value":"1"}',
      'wireguard {"listenPort":51821,"name":"wg-a","publicKey":"PUB"}',
      'wireguard-peer {"allowedIps":["10.0.0.1/32","fd00::1/128"],"hasPresharedKey":true,"interface":"wg-a","persistentKeepalive":25,"publicKey":"PEER"}',
    ]);
  });

  it('hash to sha256 of the lines joined by newlines', () => {
    expect(factsFingerprint(['a', 'b'])).toBe(`sha256:${createHash('sha256').update('a\nb').digest('hex')}`);
  });
});
