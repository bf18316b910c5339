// `wgplay status` from facts: which tunnels, in which state, and how they are printed.
import { describe, expect, it } from 'vitest';
import { blankFacts } from '../../src/facts/blankFacts.js';
import type { HostFacts, WgPeerFact } from '../../src/facts/types.js';
import { statusExitCode, tunnelStatuses, type GatewayStatus } from '../../src/status/collect.js';
import { renderStatusJson, renderStatusPrometheus, renderStatusText } from '../../src/status/render.js';
import type { TaskInvocation } from '../../src/tasks/types.js';
import { gatewayArgs } from './validatedTask.js';

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';
const KEY_B = 'fE/wdxzl0klVp/IR8UcaoGUMjqaWi3jAd7KzHKFS6Ds=';
const NOW = 1_800_000_000;

const gateway: TaskInvocation = {
  name: 'gateway',
  module: 'wireguard_gateway',
  // As the playbook loader hands them on: validated, defaults filled in.
  args: gatewayArgs({
    public_interface: 'eth0',
    public_address: '203.0.113.2',
    ssh: { interfaces: ['mgmt0'] },
    customers: [
      { name: 'a', public_key: KEY_A, address: '10.0.0.1', our_address: '10.0.0.2' },
      { name: 'b', public_key: KEY_B, address: '10.0.0.1', our_address: '10.0.0.2' },
    ],
  }),
};

const peer = (publicKey: string, latestHandshake: number, more: Partial<WgPeerFact> = {}): WgPeerFact => ({
  publicKey,
  hasPresharedKey: false,
  allowedIps: ['10.0.0.1/32'],
  latestHandshake,
  rxBytes: 1000,
  txBytes: 2000,
  ...more,
});

function hostWith(interfaces: { name: string; up?: boolean; peers: WgPeerFact[] }[], record?: object): HostFacts {
  return blankFacts({
    links: [{ name: 'lo', up: true }, ...interfaces.map((i) => ({ name: i.name, up: i.up ?? true, kind: 'tun' }))],
    wg: Object.fromEntries(interfaces.map((i, index) => [i.name, { name: i.name, listenPort: 51820 + index, peers: i.peers }])),
    files: record ? { '/var/lib/wgplay/gateway.json': { path: '/var/lib/wgplay/gateway.json', exists: true, content: JSON.stringify(record) } } : {},
    system: { kernel: '6.1.0', uid: 0, hostname: 'gw', clock: NOW },
  });
}

describe('tunnel states', () => {
  it('up within the stale threshold, stale after it or never, down, missing; others listed apart by their recorded customer', () => {
    const record = { version: 1, customers: { old: { interface: 'wg-old', listen_port: 51830, table: 50, our_translated_address: '10.200.200.9', translated_address: '10.100.100.9' } } };
    const facts = hostWith(
      [
        { name: 'wg-a', peers: [peer(KEY_A, NOW - 30, { endpoint: '198.51.100.10:4000' })] },
        { name: 'wg-old', up: false, peers: [] },
        { name: 'wg-x', peers: [peer(KEY_B, 0)] },
      ],
      record,
    );
    const tunnels = tunnelStatuses([gateway], facts);
    expect(tunnels).toEqual([
      { customer: 'a', interface: 'wg-a', state: 'up', inPlaybook: true, listenPort: 51820, handshakeAgeSeconds: 30, rxBytes: 1000, txBytes: 2000, endpoint: '198.51.100.10:4000' },
      { customer: 'b', interface: 'wg-b', state: 'missing', inPlaybook: true },
      { customer: 'old', interface: 'wg-old', state: 'down', inPlaybook: false, listenPort: 51821, handshakeAgeSeconds: null, rxBytes: 0, txBytes: 0 },
      { customer: 'wg-x', interface: 'wg-x', state: 'stale', inPlaybook: false, listenPort: 51822, handshakeAgeSeconds: null, rxBytes: 1000, txBytes: 2000 },
    ]);
    expect(tunnelStatuses([gateway], facts, 10)[0]!.state).toBe('stale');
    // A peer other than the customer's key does not count as the customer's handshake.
    expect(tunnelStatuses([gateway], hostWith([{ name: 'wg-a', peers: [peer(KEY_B, NOW)] }]))[0]).toMatchObject({ state: 'stale', handshakeAgeSeconds: null });
  });

  it('exits 0 only when every tunnel the playbook asks for is up; failures outrank unreachable hosts', () => {
    const up = (host: string, state: 'up' | 'stale', inPlaybook = true): GatewayStatus => ({
      host,
      status: 'ok',
      roundTrips: 1,
      tunnels: [{ customer: 'a', interface: 'wg-a', state, inPlaybook }],
    });
    expect(statusExitCode([up('g1', 'up'), up('g2', 'stale', false)])).toBe(0);
    expect(statusExitCode([up('g1', 'up'), up('g2', 'stale')])).toBe(2);
    expect(statusExitCode([up('g1', 'stale'), { host: 'g2', status: 'unreachable', roundTrips: 0, tunnels: [] }])).toBe(4);
    expect(statusExitCode([{ host: 'g2', status: 'unreachable', roundTrips: 0, tunnels: [] }, { host: 'g3', status: 'failed', roundTrips: 1, tunnels: [] }])).toBe(1);
  });
});

describe('status output', () => {
  const gateways: GatewayStatus[] = [
    { host: 'gw "1"', status: 'ok', roundTrips: 1, tunnels: tunnelStatuses([gateway], hostWith([{ name: 'wg-a', peers: [peer(KEY_A, NOW - 5)] }])) },
    { host: 'gw2', status: 'unreachable', roundTrips: 0, error: 'connection refused', tunnels: [] },
  ];

  it('text: a line per gateway, a row per customer', () => {
    const text = renderStatusText(gateways, 180);
    expect(text).toContain('gw "1": 1 up, 0 stale, 0 down, 1 missing\n');
    expect(text).toMatch(/^ {2}a +wg-a +up +51820 +5s ago +1000 B +2\.0 KiB +-$/m);
    expect(text).toMatch(/^ {2}b +wg-b +missing +- +- +- +- +-$/m);
    expect(text).toContain('gw2: unreachable: connection refused\n');
  });

  it('JSON carries its format version', () => {
    expect(JSON.parse(renderStatusJson(gateways, 180, 4))).toMatchObject({ format: 1, staleAfterSeconds: 180, exitCode: 4, gateways: [{ host: 'gw "1"' }, { host: 'gw2', status: 'unreachable' }] });
  });

  it('Prometheus: escaped labels, no handshake age for a tunnel that never had one', () => {
    const metrics = renderStatusPrometheus(gateways, 180);
    expect(metrics).toContain('wgplay_tunnel_up{gateway="gw \\"1\\"",customer="a"} 1\n');
    expect(metrics).toContain('wgplay_tunnel_up{gateway="gw \\"1\\"",customer="b"} 0\n');
    expect(metrics).toContain('wgplay_tunnel_latest_handshake_age_seconds{gateway="gw \\"1\\"",customer="a"} 5\n');
    expect(metrics).not.toMatch(/handshake_age_seconds\{[^}]*customer="b"/);
    expect(metrics).toContain('wgplay_gateway_up{gateway="gw2"} 0\n');
    expect(metrics.match(/^# TYPE /gm)).toHaveLength(7);
  });
});
