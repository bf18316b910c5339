// `wgplay status` on the lab's real tunnels: wgplay applies the seed gateway (plus a
// customer "x" whose host never connects) to Host C of a private seed lab, customers A
// and B connect, and status reports each tunnel as it is, in text, JSON and Prometheus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVATE_KEY_PLACEHOLDER } from '../../src/modules/gateway/customerConfig.js';
import { GATEWAY_PLAYBOOK, type LabCustomer, labInventory, labVars, startTestSeedLab, type TestSeedLab } from './harness.js';
import { wgplay, wgplayJson } from './wgplayCli.js';

let lab: TestSeedLab;
let stateDir: string;

async function inHost(id: string, script: string): Promise<string> {
  const result = await lab.lab.runInHost(id, script);
  if (result.code !== 0) throw new Error(`in host ${id}: ${script}\n${result.stderr}`);
  return result.stdout;
}

interface StatusJson {
  format: number;
  exitCode: number;
  staleAfterSeconds: number;
  gateways: {
    host: string;
    status: string;
    roundTrips: number;
    tunnels: { customer: string; interface: string; state: string; inPlaybook: boolean; listenPort?: number; handshakeAgeSeconds?: number | null; rxBytes?: number; txBytes?: number; endpoint?: string }[];
  }[];
}

async function statusJson(args: string[]): Promise<{ code: number; status: StatusJson; stderr: string }> {
  const result = await wgplay(['status', ...args, '--json']);
  return { code: result.code, stderr: result.stderr, status: JSON.parse(result.stdout) as StatusJson };
}

let inventoryABX: string;
const customerX = (publicKey: string): LabCustomer => ({ name: 'x', public_key: publicKey, address: '10.0.0.1', our_address: '10.0.0.2' });

beforeAll(async () => {
  lab = await startTestSeedLab();
  stateDir = lab.ssh.privateKeyPath.replace(/\/[^/]+$/, '');
  const x = (await inHost('c', 'k=$(wg genkey); printf %s "$k" | wg pubkey')).trim();
  inventoryABX = labInventory(lab, stateDir, [...labVars.customers, customerX(x)]);
  const applied = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryABX]);
  expect(applied.code, applied.stdout).toBe(0);
  for (const id of ['a', 'b']) {
    const config = await wgplay(['customer-config', id, GATEWAY_PLAYBOOK, '-i', inventoryABX]);
    await lab.lab.configureCustomer(id, config.stdout.replace(PRIVATE_KEY_PLACEHOLDER, lab.lab.customerKeys(id).privateKey));
    expect(await inHost(id, 'curl -sS --max-time 10 http://10.0.0.2:8080/')).toMatch(/you are 10\.100\.100\./);
  }
});

afterAll(async () => {
  await lab?.destroy();
});

describe('wgplay status', () => {
  it('reports each tunnel from the host in one round trip: handshakes, bytes, endpoints; a customer that never connected is stale (exit 2)', async () => {
    const before = await inHost('c', 'nft list ruleset; ip rule; ls -la --time-style=full-iso /etc/wireguard /var/lib/wgplay /etc/wgplay/nftables');
    const { code, status } = await statusJson([GATEWAY_PLAYBOOK, '-i', inventoryABX]);
    expect(code).toBe(2);
    expect(status.format).toBe(1);
    expect(status.exitCode).toBe(2);
    const [gateway] = status.gateways;
    expect(gateway!.roundTrips).toBe(1);
    const byName = Object.fromEntries(gateway!.tunnels.map((tunnel) => [tunnel.customer, tunnel]));
    expect(Object.keys(byName)).toEqual(['a', 'b', 'x']);
    const endpointOfA = (await inHost('c', 'wg show wg-a endpoints')).trim().split('\t')[1];
    expect(byName.a).toMatchObject({ interface: 'wg-a', state: 'up', inPlaybook: true, listenPort: 51821, endpoint: endpointOfA });
    expect(byName.a!.handshakeAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(byName.a!.handshakeAgeSeconds).toBeLessThan(180);
    expect(byName.a!.rxBytes).toBeGreaterThan(0);
    expect(byName.a!.txBytes).toBeGreaterThan(0);
    expect(byName.b).toMatchObject({ interface: 'wg-b', state: 'up', listenPort: 51822 });
    expect(byName.x).toMatchObject({ interface: 'wg-x', state: 'stale', handshakeAgeSeconds: null, rxBytes: 0 });
    expect(byName.x!.endpoint).toBeUndefined();
    // Read-only.
    expect(await inHost('c', 'nft list ruleset; ip rule; ls -la --time-style=full-iso /etc/wireguard /var/lib/wgplay /etc/wgplay/nftables')).toBe(before);

    const text = await wgplay(['status', GATEWAY_PLAYBOOK, '-i', inventoryABX]);
    expect(text.code).toBe(2);
    console.log(`wgplay status (text):\n${text.stdout}`);
    expect(text.stdout).toMatch(/^host-c: 2 up, 1 stale, 0 down, 0 missing$/m);
    expect(text.stdout).toMatch(/^ {2}a +wg-a +up +51821 +\d+s ago +[\d.]+ (B|KiB) +[\d.]+ (B|KiB) +\S+:\d+$/m);
    expect(text.stdout).toMatch(/^ {2}x +wg-x +stale +51820 +never +0 B +0 B +-$/m);
  });

  it('prints Prometheus text format for node_exporter, labelled by gateway and customer', async () => {
    const result = await wgplay(['status', GATEWAY_PLAYBOOK, '-i', inventoryABX, '--format', 'prometheus']);
    expect(result.code).toBe(2);
    console.log(`wgplay status --format prometheus:\n${result.stdout}`);
    const metrics = result.stdout;
    expect(metrics).toContain('# TYPE wgplay_tunnel_up gauge\n');
    expect(metrics).toContain('wgplay_gateway_up{gateway="host-c"} 1\n');
    expect(metrics).toContain('wgplay_tunnel_up{gateway="host-c",customer="a"} 1\n');
    expect(metrics).toContain('wgplay_tunnel_up{gateway="host-c",customer="x"} 0\n');
    expect(metrics).toMatch(/^wgplay_tunnel_latest_handshake_age_seconds\{gateway="host-c",customer="a"\} \d+$/m);
    expect(metrics).not.toMatch(/latest_handshake_age_seconds\{gateway="host-c",customer="x"\}/);
    expect(metrics).toMatch(/^wgplay_tunnel_receive_bytes_total\{gateway="host-c",customer="b"\} [1-9]\d*$/m);
    expect(metrics).toContain('# TYPE wgplay_tunnel_transmit_bytes_total counter\n');
    // Every sample line is NAME{LABELS} NUMBER, as the textfile collector reads it.
    for (const line of metrics.trimEnd().split('\n').filter((l) => !l.startsWith('#'))) expect(line).toMatch(/^[a-z_]+\{[^}]*\} \d+$/);
  });

  it('a tunnel down on the gateway shows as down, a missing one as missing; tunnels outside the playbook are listed apart', async () => {
    await inHost('c', 'ip link set dev wg-b down');
    try {
      const { code, status } = await statusJson([GATEWAY_PLAYBOOK, '-i', inventoryABX]);
      expect(code).toBe(2);
      const states = Object.fromEntries(status.gateways[0]!.tunnels.map((tunnel) => [tunnel.customer, tunnel.state]));
      expect(states).toEqual({ a: 'up', b: 'down', x: 'stale' });

      // A playbook that lists only A: B and X are on the host but not in the playbook; A is up: exit 0.
      const onlyA = labInventory(lab, stateDir, [labVars.customers[0]!]);
      const narrowed = await statusJson([GATEWAY_PLAYBOOK, '-i', onlyA]);
      expect(narrowed.code).toBe(0);
      expect(narrowed.status.gateways[0]!.tunnels.map((t) => `${t.customer} ${t.interface} ${t.state} ${t.inPlaybook}`)).toEqual([
        'a wg-a up true',
        'b wg-b down false',
        'x wg-x stale false',
      ]);
      const text = await wgplay(['status', GATEWAY_PLAYBOOK, '-i', onlyA]);
      expect(text.stdout).toMatch(/^host-c: 1 up, 0 stale, 0 down, 0 missing; 2 on the host but not in the playbook$/m);
      expect(text.stdout).toMatch(/^ {2}b +wg-b +down \(not in the playbook\)/m);
    } finally {
      await inHost('c', 'ip link set dev wg-b up');
    }
    // A customer in the playbook the host does not have.
    const [a, b] = labVars.customers;
    const withNew = labInventory(lab, stateDir, [a!, b!, { name: 'new', public_key: b!.public_key.replace(/^./, 'A'), address: '10.0.0.1', our_address: '10.0.0.2' }]);
    const missing = await statusJson([GATEWAY_PLAYBOOK, '-i', withNew]);
    expect(missing.code).toBe(2);
    expect(missing.status.gateways[0]!.tunnels.find((t) => t.customer === 'new')).toEqual({ customer: 'new', interface: 'wg-new', state: 'missing', inPlaybook: true });
  });

  it('exit 4 for an unreachable gateway, 1 for bad options, with the stale threshold configurable', async () => {
    const closed = labInventory(lab, stateDir, labVars.customers, { ssh: { ...lab.ssh, host: '127.0.0.1', port: 1 } });
    const unreachable = await statusJson([GATEWAY_PLAYBOOK, '-i', closed]);
    expect(unreachable.code).toBe(4);
    expect(unreachable.status.gateways[0]).toMatchObject({ host: 'host-c', status: 'unreachable', tunnels: [] });
    const prometheus = await wgplay(['status', GATEWAY_PLAYBOOK, '-i', closed, '--format', 'prometheus']);
    expect(prometheus.code).toBe(4);
    expect(prometheus.stdout).toContain('wgplay_gateway_up{gateway="host-c"} 0\n');

    const bad = await wgplay(['status', GATEWAY_PLAYBOOK, '-i', inventoryABX, '--stale-after', 'soon']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--stale-after must be a whole number of seconds, got "soon"');
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    // Wait until A's handshake is at least 2 s old: with --stale-after 1 it is stale.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const strict = await statusJson([GATEWAY_PLAYBOOK, '-i', labInventory(lab, stateDir, [labVars.customers[0]!]), '--stale-after', '1']);
    expect(strict.status.staleAfterSeconds).toBe(1);
    expect(strict.status.gateways[0]!.tunnels[0]).toMatchObject({ customer: 'a', state: 'stale' });
    expect(strict.code).toBe(2);
  });
});
