// The seed article's three scenarios, proven with real traffic: wgplay applies
// playbooks/gateway.yaml over SSH to Host C of a private seed lab (namespaces), the
// customer hosts are configured from `wgplay customer-config`, and curl runs through
// the tunnels. Overlapping addresses: every customer host is 10.0.0.1.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVATE_KEY_PLACEHOLDER } from '../../src/modules/gateway/customerConfig.js';
import { GATEWAY_PLAYBOOK, type LabCustomer, labInventory, labVars, OWN_DAEMONS_SCRIPT, startTestSeedLab, type TestSeedLab } from './harness.js';
import { changedResources, expectNoPrivateKeyPrinted, wgplay, wgplayJson } from './wgplayCli.js';

let lab: TestSeedLab;
let stateDir: string;
let inventories = 0;

async function inC(script: string): Promise<string> {
  const result = await lab.lab.runInHost('c', script);
  if (result.code !== 0) throw new Error(`in host C: ${script}\n${result.stderr}`);
  return result.stdout;
}

async function inHost(id: string, script: string): Promise<string> {
  const result = await lab.lab.runInHost(id, script);
  if (result.code !== 0) throw new Error(`in host ${id}: ${script}\n${result.stderr}`);
  return result.stdout;
}

/** Configures a customer host from `wgplay customer-config`, with the key only that host has. */
async function connectCustomer(id: string, inventory: string): Promise<string> {
  const result = await wgplay(['customer-config', id, GATEWAY_PLAYBOOK, '-i', inventory]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const config = result.stdout;
  expect(config).toContain(PRIVATE_KEY_PLACEHOLDER);
  await lab.lab.configureCustomer(id, config.replace(PRIVATE_KEY_PLACEHOLDER, lab.lab.customerKeys(id).privateKey));
  return config;
}

/** Every private key the gateway has had during this file's tests (keys of removed customers go). */
const gatewayKeys = new Set<string>();
async function rememberGatewayKeys(): Promise<void> {
  for (const key of (await inC('cat /etc/wireguard/*.key')).split('\n')) if (key.trim()) gatewayKeys.add(key.trim());
}

const curl = (url: string) => `curl -sS --max-time 10 ${url}`;

/** Everything wgplay may touch on the gateway, to prove a refused run changed nothing. */
const gatewaySnapshot = () => inC('nft list ruleset; ip rule; ip -4 route show table all; wg show all dump | cut -f1,3,4,5; ls -la /etc/wireguard /var/lib/wgplay 2>&1 || true');

beforeAll(async () => {
  lab = await startTestSeedLab();
  stateDir = lab.ssh.privateKeyPath.replace(/\/[^/]+$/, '');
});

afterAll(async () => {
  await lab?.destroy();
});

describe('the overlapping-customers gateway', () => {
  let inventoryAB: string;

  it('applies the seed gateway: interfaces, rules, routes and NAT maps on the real kernel', async () => {
    inventoryAB = labInventory(lab, stateDir, labVars.customers);
    const started = Date.now();
    const result = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAB]);
    console.log(`full apply of the seed gateway (2 customers): ${Date.now() - started} ms, ${result.report.hosts[0]!.roundTrips} round trips`);
    expect(result.report.hosts[0]!.error).toBeUndefined();
    expect(result.code).toBe(0);

    expect(await inC('ip rule show priority 100')).toBe('100:\tfrom 10.200.200.1 lookup 41\n100:\tfrom 10.200.200.2 lookup 42\n');
    expect(await inC('ip route show 10.100.100.1; ip route show 10.100.100.2')).toBe('10.100.100.1 dev wg-a scope link \n10.100.100.2 dev wg-b scope link \n');
    expect(await inC('ip route show table 41; ip route show table 42')).toBe('10.0.0.1 dev wg-a scope link \n10.0.0.1 dev wg-b scope link \n');
    expect(await inC('wg show wg-a listen-port; wg show wg-b listen-port')).toBe('51821\n51822\n');
    const nat = await inC('nft list map inet wgplay_nat inbound_dnat; nft list map inet wgplay_nat outbound_snat');
    expect(nat).toMatch(/"wg-a" : 10\.200\.200\.1,\s+"wg-b" : 10\.200\.200\.2/);
    expect(nat).toMatch(/"wg-a" : 10\.0\.0\.2,\s+"wg-b" : 10\.0\.0\.2/);
    expect(await inC('sysctl -n net.ipv4.ip_local_reserved_ports')).toBe('51820-55819\n');
    // Per-interface keys, generated on the gateway, 0600, distinct.
    const keys = await inC('stat -c %a /etc/wireguard/wg-a.key /etc/wireguard/wg-b.key; wg show wg-a public-key; wg show wg-b public-key');
    const [modeA, modeB, pubA, pubB] = keys.trim().split('\n');
    expect([modeA, modeB]).toEqual(['600', '600']);
    expect(pubA).not.toBe(pubB);
    // No private key anywhere in what wgplay printed.
    const privateKeys = (await inC('cat /etc/wireguard/wg-a.key /etc/wireguard/wg-b.key')).trim().split('\n');
    for (const key of privateKeys) expect(result.stdout + result.stderr).not.toContain(key);
    await rememberGatewayKeys();
  });

  it('refuses invalid customers with a clear error and leaves the running gateway untouched', async () => {
    const before = await gatewaySnapshot();
    const [a, b] = labVars.customers;
    const cases: [LabCustomer[], RegExp][] = [
      [[a!, { ...b!, listen_port: 51821 }], /customers\[1\]\.listen_port: listen_port 51821 is also used by customer a/],
      [[a!, { ...b!, table: 41 }], /customers\[1\]\.table: table 41 is also used by customer a/],
      [[a!, { ...b!, our_translated_address: '10.200.200.1' }], /customers\[1\]\.our_translated_address: .*also used by customer a/],
      [[a!, { ...b!, translated_address: '10.200.200.9' }], /customers\[1\]\.translated_address: 10\.200\.200\.9 is outside pool customer_addresses/],
      [[a!, { ...b!, public_key: a!.public_key }], /customers\[1\]\.public_key: .*also used by customer a/],
      [[a!, { ...b!, public_key: 'bm90IGEga2V5' }], /customers\[1\]\.public_key: not a WireGuard public key/],
      [[a!, { ...b!, name: 'b', interface: 'wg-customer-number-two' }], /customers\[1\]\.interface: interface name "wg-customer-number-two" is longer than 15 bytes/],
      // Another spelling of a's addresses is the same address: refused, naming the field (ip and nft would read it as a's).
      [[a!, { ...b!, translated_address: '10.100.100.01' }], /customers\[1\]\.translated_address: "10\.100\.100\.01" has an octet with a leading zero.*write 10\.100\.100\.1/],
      [[a!, { ...b!, our_translated_address: '10.200.200.01' }], /customers\[1\]\.our_translated_address: "10\.200\.200\.01" has an octet with a leading zero/],
      [[a!, { ...b!, translated_address: '::ffff:10.100.100.1' }], /customers\[1\]\.translated_address: translated_address 10\.100\.100\.1 is also used by customer a/],
      [[{ ...a!, address: '10.0.0.01' }], /customers\[0\]\.address: "10\.0\.0\.01" has an octet with a leading zero/],
      [[{ ...a!, address: '127.0.0.1' }], /customers\[0\]\.address: "127\.0\.0\.1" is a loopback address/],
      [[{ ...a!, endpoint: '198.51.100.7:99999' }], /customers\[0\]\.endpoint: "198\.51\.100\.7:99999" has port 99999, outside 1-65535/],
      [[a!, { ...b!, name: 'b', interface: '--version' }], /customers\[1\]\.interface: interface name "--version" starts with "-"/],
      [[a!, { ...b!, name: 'b;reboot' }], /customers\[1\]\.name: must match the pattern .*got "b;reboot"/],
      [[{ ...a!, listen_port: 40000 }], /customers\[0\]\.listen_port: listen port 40000 is outside pool/],
    ];
    for (const [customers, message] of cases) {
      const result = await wgplay(['apply', GATEWAY_PLAYBOOK, '-i', labInventory(lab, stateDir, customers)]);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/inventory\.yaml|gateway\.yaml:\d+:\d+/);
    }
    // Pools live in the playbook: variants of it.
    const playbookText = readFileSync(GATEWAY_PLAYBOOK, 'utf8');
    const variant = (from: string, to: string) => {
      const path = `${stateDir}/variant-${inventories++}.yaml`;
      writeFileSync(path, playbookText.replace(from, to));
      return path;
    };
    const withoutTables = labVars.customers.map(({ table, ...customer }) => customer as LabCustomer);
    const playbookCases: [string, LabCustomer[], RegExp][] = [
      [variant('customer_addresses: 10.100.100.0/22', 'customer_addresses: 10.200.0.0/16'), labVars.customers, /pool 10\.200\.0\.0\/16 overlaps pool our_addresses 10\.200\.200\.0\/22/],
      [variant('tables: 41-4040', 'tables: 41-41'), withoutTables, /customers\[1\]: no free table left in pool 41-41 for customer b/],
      [
        variant('        customers: "{{ customers }}"', '        reserve_listen_ports: false\n        customers: "{{ customers }}"'),
        labVars.customers,
        /listen ports 51820-55819 lie in Linux's ephemeral range/,
      ],
      [GATEWAY_PLAYBOOK, labVars.customers.map((c) => ({ ...c, interface: 'wg-shared' })), /customers\[1\]\.interface: interface wg-shared is also used by customer a/],
    ];
    for (const [playbook, customers, message] of playbookCases) {
      const result = await wgplay(['apply', playbook, '-i', labInventory(lab, stateDir, customers)]);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(message);
    }

    // A firewall that would not accept SSH where wgplay arrives (mgmt0) is refused on the host's facts.
    const lockout = await wgplay(['apply', GATEWAY_PLAYBOOK, '-i', labInventory(lab, stateDir, labVars.customers, { vars: { ssh_interfaces: ['eth0'] } })]);
    expect(lockout.code).toBe(1);
    expect(lockout.stdout).toMatch(/on mgmt0, but ssh\.interfaces is \[eth0\]: the firewall would lock wgplay/);
    expect(await gatewaySnapshot()).toBe(before);
  });

  it('customer-config hands each customer our public key and their endpoint, never a private key', async () => {
    const config = await connectCustomer('a', inventoryAB);
    await connectCustomer('b', inventoryAB);
    const pubA = (await inC('wg show wg-a public-key')).trim();
    expect(config).toContain(`PublicKey = ${pubA}`);
    expect(config).toContain('Endpoint = 203.0.113.2:51821');
    expect(config).toContain('Address = 10.0.0.1');
    expect(config).toContain('AllowedIPs = 10.0.0.2');
    expect(config).not.toContain((await inC('cat /etc/wireguard/wg-a.key')).trim());
  });

  it('inbound: both customers (both 10.0.0.1) reach the service on 10.0.0.2:8080, seen as 10.100.100.1 and .2', async () => {
    expect(await inHost('a', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.1$/m);
    expect(await inHost('b', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.2$/m);
  });

  it('outbound: the gateway reaches host A at 10.100.100.1 and host B at 10.100.100.2, seen as 10.0.0.2', async () => {
    expect(await inC(curl('http://10.100.100.1/'))).toBe('hello from host-a; you are 10.0.0.2\n');
    expect(await inC(curl('http://10.100.100.2/'))).toBe('hello from host-b; you are 10.0.0.2\n');
  });

  it('a second apply changes nothing; plan shows manual drift and exits 2', async () => {
    const again = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAB]);
    expect(again.code).toBe(0);
    expect(changedResources(again.report)).toEqual([]);

    await inC('nft delete element inet wgplay_nat inbound_snat { "wg-b" }; ip rule del from 10.200.200.1 table 41 priority 100');
    const planned = await wgplayJson(['plan', GATEWAY_PLAYBOOK, '-i', inventoryAB]);
    expect(planned.code).toBe(2);
    expect(changedResources(planned.report).sort()).toEqual(['ip rule from 10.200.200.1 table 41 priority 100', 'nft element inet wgplay_nat inbound_snat wg-b']);
    const fixed = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAB]);
    expect(fixed.code).toBe(0);
    expect(await inHost('b', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.2$/m);
  });

  it('adds a third customer while a transfer to A is in flight, touching nothing of A and B', async () => {
    await lab.lab.addCustomerHost('d');
    const customerD: LabCustomer = { name: 'd', public_key: lab.lab.customerKeys('d').publicKey, address: '10.0.0.1', our_address: '10.0.0.2', mode: 'both' };
    const inventoryABD = labInventory(lab, stateDir, [...labVars.customers, customerD]);

    // wireguard-go processes in Host C's network namespace (the pid namespace is the machine's).
    const daemons = () =>
      inC(OWN_DAEMONS_SCRIPT);
    const handshakes = () => inC('wg show wg-a latest-handshakes; wg show wg-b latest-handshakes');
    const daemonsBefore = await daemons();
    const handshakesBefore = await handshakes();

    const planned = await wgplayJson(['plan', GATEWAY_PLAYBOOK, '-i', inventoryABD]);
    expect(planned.code).toBe(2);
    const changedTasks = planned.report.hosts[0]!.tasks.filter((t) => t.changes.length > 0).map((t) => t.name);
    for (const name of changedTasks) expect(name).toMatch(/customer d:|record of managed customers/);
    expect(changedResources(planned.report)).not.toContain('nft table inet wgplay_nat');
    expect(changedResources(planned.report).filter((r) => /wg-a|wg-b|10\.200\.200\.[12]\b|10\.100\.100\.[12]\b/.test(r))).toEqual([]);

    // A 4 MB download from host A, paced over ~6 s, running across the apply.
    await inHost('a', "setsid socat TCP-LISTEN:9000,reuseaddr SYSTEM:'for i in $(seq 1 40); do head -c 100000 /dev/zero; sleep 0.15; done' >/dev/null 2>&1 < /dev/null &");
    // The gateway connects only once A listens (on a loaded machine socat takes a while to start).
    await inHost('a', 'for i in $(seq 100); do ss -Hltn "sport = :9000" | grep -q . && exit 0; sleep 0.1; done; exit 1');
    await inC('(socat -u TCP:10.100.100.1:9000 - | wc -c > /run/transfer.bytes; echo done >> /run/transfer.bytes) >/dev/null 2>&1 < /dev/null &');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const applied = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryABD]);
    expect(applied.code).toBe(0);
    let transfer = '';
    for (let i = 0; i < 40 && !transfer.includes('done'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      transfer = await inC('cat /run/transfer.bytes 2>/dev/null || true');
    }
    expect(transfer).toBe('4000000\ndone\n');
    expect(await daemons()).toContain(daemonsBefore.trim());
    expect(await handshakes()).toBe(handshakesBefore);

    await connectCustomer('d', inventoryABD);
    expect(await inHost('d', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.3$/m);
    expect(await inC(curl('http://10.100.100.3/'))).toBe('hello from host-d; you are 10.0.0.2\n');
    expect(await inC('wg show wg-d listen-port; ip rule show priority 100 | grep -c lookup')).toBe('51820\n3\n');
    await rememberGatewayKeys();
  });

  it('removes a customer: its interface, rule, route, elements, key and files go; the others still work', async () => {
    const customerD: LabCustomer = { name: 'd', public_key: lab.lab.customerKeys('d').publicKey, address: '10.0.0.1', our_address: '10.0.0.2', mode: 'both' };
    const inventoryAD = labInventory(lab, stateDir, [labVars.customers[0]!, customerD]);
    const result = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAD]);
    expect(result.code).toBe(0);

    expect(await lab.lab.runInHost('c', 'ip link show dev wg-b')).toMatchObject({ code: 1 });
    expect(await inC('ip rule show priority 100')).not.toContain('10.200.200.2');
    expect(await inC('ip route show table all')).not.toMatch(/10\.100\.100\.2|dev wg-b/);
    expect(await inC('nft list ruleset')).not.toContain('wg-b');
    expect(await inC('nft list set inet wgplay_filter wg_ports')).not.toContain('51822');
    expect(await inC('ls /etc/wireguard')).toBe('wg-a.conf\nwg-a.key\nwg-d.conf\nwg-d.key\n');

    expect(await inHost('a', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.1$/m);
    expect(await inC(curl('http://10.100.100.1/'))).toBe('hello from host-a; you are 10.0.0.2\n');
    expect(await inHost('d', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.3$/m);
    const again = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAD]);
    expect(changedResources(again.report)).toEqual([]);
  });

  it("a customer's wireguard-go killed: plan shows its daemon to start (exit 2), apply brings it back, the other customer untouched", async () => {
    const customerD: LabCustomer = { name: 'd', public_key: lab.lab.customerKeys('d').publicKey, address: '10.0.0.1', our_address: '10.0.0.2', mode: 'both' };
    const inventoryAD = labInventory(lab, stateDir, [labVars.customers[0]!, customerD]);
    const daemonOf = async (iface: string) =>
      (await inC(OWN_DAEMONS_SCRIPT)).split('\n').find((line) => line.trim().endsWith(` ${iface}`))?.split(' ')[0] ?? '';
    const daemonA = await daemonOf('wg-a');
    const killed = await daemonOf('wg-d');
    expect(killed).toMatch(/^\d+$/);
    await inC(`kill -9 ${killed}; for i in $(seq 50); do wg show wg-d >/dev/null 2>&1 || exit 0; sleep 0.1; done; exit 1`);
    // Its TUN stays behind (wgplay made it persistent), without a UAPI socket.
    expect(await inC('ip -d link show dev wg-d')).toContain('alias wgplay');

    const planned = await wgplayJson(['plan', GATEWAY_PLAYBOOK, '-i', inventoryAD]);
    expect(planned.code).toBe(2);
    expect(planned.report.hosts[0]!.error).toBeUndefined();
    expect(changedResources(planned.report)).toContain('wireguard interface wg-d');
    expect(changedResources(planned.report).filter((r) => /wg-a|10\.200\.200\.1\b|10\.100\.100\.1\b/.test(r))).toEqual([]);

    const applied = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAD]);
    expect(applied.report.hosts[0]!.error).toBeUndefined();
    expect(applied.code).toBe(0);
    expect(await daemonOf('wg-d')).toMatch(/^\d+$/);
    expect(await daemonOf('wg-a')).toBe(daemonA);
    expect(await inC('wg show wg-d listen-port')).toBe('51820\n');
    // D still holds a session the new daemon does not know: WireGuard handshakes again
    // once D has sent without an answer for 15 s (Keepalive-Timeout + Rekey-Timeout).
    expect(await inHost('d', `for i in $(seq 8); do curl -sS --max-time 5 http://10.0.0.2:8080/ 2>/dev/null && exit 0; done; exit 1`)).toMatch(/you are 10\.100\.100\.3$/m);
    expect(await inC(curl('http://10.100.100.3/'))).toBe('hello from host-d; you are 10.0.0.2\n');
    expect(await inHost('a', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.1$/m);
    const again = await wgplayJson(['plan', GATEWAY_PLAYBOOK, '-i', inventoryAD]);
    expect(changedResources(again.report)).toEqual([]);
  });

});

describe('one-way customers', () => {
  it('inbound-only and outbound-only customers get only their direction', async () => {
    const [a] = labVars.customers;
    const customerD: LabCustomer = { name: 'd', public_key: lab.lab.customerKeys('d').publicKey, address: '10.0.0.1', our_address: '10.0.0.2', mode: 'outbound' };
    const inventory = labInventory(lab, stateDir, [{ ...a!, mode: 'inbound' }, customerD]);
    const result = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventory]);
    expect(result.code).toBe(0);
    // A may call the gateway's service, but the gateway gets no outbound NAT to A.
    expect(await inHost('a', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.1$/m);
    expect((await lab.lab.runInHost('c', 'curl -sS --max-time 3 http://10.100.100.1/')).code).not.toBe(0);
    // The gateway may call D, but D's traffic to the gateway's service is refused.
    expect(await inC(curl('http://10.100.100.3/'))).toBe('hello from host-d; you are 10.0.0.2\n');
    expect((await lab.lab.runInHost('d', 'curl -sS --max-time 3 http://10.0.0.2:8080/')).code).not.toBe(0);
    expect(await inC('nft list map inet wgplay_nat outbound_dnat')).not.toContain('wg-a');
    expect(await inC('nft list set inet wgplay_filter wg_ifaces')).not.toContain('wg-d');
  });
});

describe('customers replaced', () => {
  it('replaces a customer by another in ONE apply: the newcomer gets a port of its own, not the leaving one\'s, and traffic passes', async () => {
    await lab.lab.addCustomerHost('e');
    const customerE: LabCustomer = { name: 'e', public_key: lab.lab.customerKeys('e').publicKey, address: '10.0.0.1', our_address: '10.0.0.2', mode: 'both' };
    const inventoryAE = labInventory(lab, stateDir, [labVars.customers[0]!, customerE]);
    const portD = (await inC('wg show wg-d listen-port')).trim();
    const applied = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAE]);
    expect(applied.report.hosts[0]!.error).toBeUndefined();
    expect(applied.code).toBe(0);
    expect(await lab.lab.runInHost('c', 'ip link show dev wg-d')).toMatchObject({ code: 1 });
    const portE = (await inC('wg show wg-e listen-port')).trim();
    expect(portE).not.toBe(portD);
    expect(await inC('nft list set inet wgplay_filter wg_ports')).toContain(portE);
    const record = JSON.parse(await inC('cat /var/lib/wgplay/gateway.json')) as { customers: Record<string, { translated_address: string }> };
    const translated = record.customers.e!.translated_address;
    await connectCustomer('e', inventoryAE);
    expect(await inHost('e', curl('http://10.0.0.2:8080/'))).toContain(`you are ${translated}`);
    expect(await inC(curl(`http://${translated}/`))).toBe('hello from host-e; you are 10.0.0.2\n');
    expect(await inHost('a', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.1$/m);
    await rememberGatewayKeys();
  });
});

describe('secrets', () => {
  it('no private key of the lab (the gateway\'s or a customer\'s) appears in anything wgplay printed in this file', async () => {
    await rememberGatewayKeys();
    expect(gatewayKeys.size).toBeGreaterThanOrEqual(3);
    expectNoPrivateKeyPrinted([...gatewayKeys, ...['a', 'b', 'd', 'e'].map((id) => lab.lab.customerKeys(id).privateKey)]);
  });
});
