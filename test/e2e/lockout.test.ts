// Nothing wgplay applies may cut its own SSH path, and what it owns it owns entirely
// (issue 6, section 1). On a private seed lab: each refused run is proven to change
// nothing by a fingerprint of the gateway taken before and after.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_PLAYBOOK, type LabCustomer, labInventory, labVars, startTestSeedLab, type TestSeedLab } from './harness.js';
import { changedResources, wgplay, wgplayJson, writePlaybook } from './wgplayCli.js';

let lab: TestSeedLab;
let stateDir: string;
let files = 0;

/** The gateway playbook with one text replaced. */
function playbookVariant(from: string, to: string): string {
  const text = readFileSync(GATEWAY_PLAYBOOK, 'utf8');
  if (!text.includes(from)) throw new Error(`playbook has no ${from}`);
  const path = `${stateDir}/playbook-${files++}.yaml`;
  writeFileSync(path, text.replace(from, to));
  return path;
}

async function inC(script: string): Promise<string> {
  const result = await lab.lab.runInHost('c', script);
  if (result.code !== 0) throw new Error(`in host C: ${script}\n${result.stderr}`);
  return result.stdout;
}

/**
 * Everything wgplay may touch on the gateway: ruleset, rules, routes of all tables, links, addresses, its files.
 * Read once the kernel's duplicate address detection is over (a fresh link's IPv6 address is
 * "tentative" for a second or two, then gets its local route: the kernel's doing, not wgplay's).
 */
const fingerprint = () =>
  inC(
    'for i in $(seq 100); do case "$(ip -o addr show)" in *tentative*) sleep 0.05 ;; *) break ;; esac; done; ' +
    // Tables one by one in a fixed order: a replaced table moves to the end of `nft list ruleset`.
    "nft list tables | sort | while read -r _ family name; do nft list table $family $name; done; ip rule; ip -6 rule; " +
      ' ip route show table all; ip -6 route show table all; ' +
      "ip -o link show | sed 's/^[0-9]*: //'; ip -o addr show | sed 's/^[0-9]*: //'; wg show all dump | cut -f1,3,4,5; " +
      'find /etc/wireguard /etc/wgplay /var/lib/wgplay -exec stat -c "%n %a %s" {} + 2>/dev/null | sort; ' +
      'find /etc/wireguard /etc/wgplay /var/lib/wgplay -type f -exec sha256sum {} + 2>/dev/null | sort; true',
  );

/** The numeric form of a dotted IPv4 address: 172.31.250.2 -> "2887776770". */
const numericForm = (address: string) => String(address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0));

beforeAll(async () => {
  lab = await startTestSeedLab();
  stateDir = lab.ssh.privateKeyPath.replace(/\/[^/]+$/, '');
  const first = await wgplay(['apply', GATEWAY_PLAYBOOK, '-i', labInventory(lab, stateDir, labVars.customers)]);
  if (first.code !== 0) throw new Error(`first apply failed:\n${first.stdout}\n${first.stderr}`);
});

afterAll(async () => {
  await lab?.destroy();
});

describe('nothing wgplay applies can cut its own SSH path', () => {
  /** Runs apply, expects exit 1 with the message, and the gateway exactly as before. */
  async function refused(playbook: string, inventory: string, message: RegExp) {
    const before = await fingerprint();
    const result = await wgplay(['apply', playbook, '-i', inventory]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout + result.stderr).toMatch(message);
    expect(result.stdout + result.stderr).toMatch(/nothing changed/);
    expect(await fingerprint()).toBe(before);
    // plan refuses the same way (exit 1, not "2 changes pending").
    expect((await wgplay(['plan', playbook, '-i', inventory])).code).toBe(1);
  }

  it('refuses ssh.port other than the port the connection arrived on', async () => {
    const playbook = playbookVariant('          interfaces: "{{ ssh_interfaces }}"', '          interfaces: "{{ ssh_interfaces }}"\n          port: 2222');
    await refused(playbook, labInventory(lab, stateDir, labVars.customers), new RegExp(`ssh\\.port is 2222, but wgplay's SSH connection arrived at ${lab.ssh.host.replace(/\./g, '\\.')} port 22`));
  });

  it('refuses ssh.interfaces closing the arrival interface when ansible_host is the numeric form of the address', async () => {
    const numeric = numericForm(lab.ssh.host);
    const inventory = labInventory(lab, stateDir, labVars.customers, { vars: { ssh_interfaces: ['eth0'] }, host: { ansible_host: numeric, wgplay_host_key_policy: 'accept-new' } });
    await refused(GATEWAY_PLAYBOOK, inventory, /wgplay reaches this host over SSH at 172\.31\.250\.\d+ on mgmt0, but ssh\.interfaces is \[eth0\]: the firewall would lock wgplay/);
  });

  it('refuses pools that cover the management network', async () => {
    const mgmtNetwork = (await inC("ip -4 -o addr show dev mgmt0 | awk '{print $4}'")).trim(); // 172.31.250.N/30
    const [address, length] = mgmtNetwork.split('/');
    const network = `${address!.replace(/\d+$/, (last) => String(Number(last) & ~3))}/${length}`;
    const playbook = playbookVariant('customer_addresses: 10.100.100.0/22', `customer_addresses: ${network}`);
    const customers = labVars.customers.map(({ translated_address, ...customer }) => customer as LabCustomer);
    await refused(playbook, labInventory(lab, stateDir, customers), new RegExp(`pools\\.customer_addresses ${network.replace(/[./]/g, '\\$&')} covers the controller's address 172\\.31\\.250\\.\\d+ \\(wgplay's SSH comes from it\\)`));
  });

  it("refuses a translated address equal to one of the host's own", async () => {
    await inC('ip addr add 10.100.100.9/32 dev eth0');
    try {
      const customers = [labVars.customers[0]!, { ...labVars.customers[1]!, translated_address: '10.100.100.9' }];
      await refused(GATEWAY_PLAYBOOK, labInventory(lab, stateDir, customers), /customer b: translated_address 10\.100\.100\.9 collides with 10\.100\.100\.9, an address of this host \(on eth0\)/);
    } finally {
      await inC('ip addr del 10.100.100.9/32 dev eth0');
    }
  });

  it("refuses a primitive route or rule that diverts the controller's address, unless the task opts in", async () => {
    const controller = lab.ssh.host.replace(/\d+$/, (last) => String(Number(last) - 1));
    const inventory = labInventory(lab, stateDir, labVars.customers);
    const route = writePlaybook([{ name: 'reroute', hosts: 'gateways', tasks: [{ name: 'controller via eth0', ip_route: { to: controller, dev: 'eth0' } }] }]);
    await refused(route, inventory, new RegExp(`task "controller via eth0".*: the route to ${controller.replace(/\./g, '\\.')} covers the controller's address`));
    const rule = writePlaybook([{ name: 'divert', hosts: 'gateways', tasks: [{ name: 'everything to 41', ip_rule: { table: 41, priority: 50 } }] }]);
    await refused(rule, inventory, /task "everything to 41".*: the rule from all table 41 priority 50 matches wgplay's SSH connection/);
    const tunnel = writePlaybook([
      {
        name: 'tunnel',
        hosts: 'gateways',
        tasks: [{ name: 'controller into a tunnel', wireguard_interface: { name: 'wg-cut', table: 'main', peers: [{ public_key: labVars.customers[0]!.public_key, allowed_ips: [`${controller}/32`] }] } }],
      },
    ]);
    await refused(tunnel, inventory, new RegExp(`task "controller into a tunnel".*: the peer route to ${controller.replace(/\./g, '\\.')}/32 in table main covers the controller's address`));
    // Opted in, it is applied (table 77 is empty: lookups fall through to main, SSH survives).
    const optedIn = writePlaybook([{ name: 'divert', hosts: 'gateways', tasks: [{ name: 'controller in 77', ip_rule: { to: `${controller}/32`, table: 77, priority: 50, may_cut_ssh: true } }] }]);
    const applied = await wgplay(['apply', optedIn, '-i', inventory]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(await inC('ip rule show priority 50')).toContain(`to ${controller} lookup 77`);
    await inC('ip rule del priority 50');
  });
});

describe('what wgplay owns it owns entirely', () => {
  const inventoryAB = () => labInventory(lab, stateDir, labVars.customers);
  const gatewayInterfaces = async () => (await inC('wg show interfaces')).trim().split(/\s+/).sort().join(' ');

  it('shows and removes foreign elements in each of its six sets and maps, and orphan interfaces, edited element by element or with the table replaced', async () => {
    const foreign = [
      'add element inet wgplay_filter wg_ifaces { "eth0" }',
      'add element inet wgplay_filter wg_ports { 2222 }',
      'add element inet wgplay_nat inbound_dnat { "eth0" : 10.9.9.1 }',
      'add element inet wgplay_nat inbound_snat { "eth0" : 10.9.9.2 }',
      'add element inet wgplay_nat outbound_dnat { "eth0" : 10.9.9.3 }',
      'add element inet wgplay_nat outbound_snat { "eth0" : 10.9.9.4 }',
    ];
    const expected = [
      'nft element inet wgplay_filter wg_ifaces eth0',
      'nft element inet wgplay_filter wg_ports 2222',
      'nft element inet wgplay_nat inbound_dnat eth0',
      'nft element inet wgplay_nat inbound_snat eth0',
      'nft element inet wgplay_nat outbound_dnat eth0',
      'nft element inet wgplay_nat outbound_snat eth0',
    ];
    const clean = await fingerprint();
    // Element by element; then with a hand-made rule too, so that the filter table is replaced in the same run.
    for (const extraRule of ['', 'nft add rule inet wgplay_filter input tcp dport 9999 accept']) {
      await inC(`nft -f - <<'EOF'\n${foreign.join('\n')}\nEOF\n${extraRule}`);
      // An orphan: a WireGuard interface named like the gateway's, in neither the record nor the playbook.
      await inC('wireguard-go wg-zz </dev/null >/dev/null 2>&1 && ip addr add 10.200.200.99/32 dev wg-zz && ip link set wg-zz up');
      const planned = await wgplayJson(['plan', GATEWAY_PLAYBOOK, '-i', inventoryAB()]);
      expect(planned.code).toBe(2);
      const resources = changedResources(planned.report);
      expect(resources).toEqual(expect.arrayContaining([...expected, 'wireguard interface wg-zz']));
      if (extraRule) expect(resources).toContain('nft table inet wgplay_filter');
      const taskNames = planned.report.hosts[0]!.tasks.filter((task) => task.changes.length > 0).map((task) => task.name);
      expect(taskNames).toContain("gateway / foreign element eth0 in wgplay_filter wg_ifaces (no customer's): remove");
      expect(taskNames).toContain('gateway / orphan wg-zz (in neither the record nor the playbook): remove interface');

      const applied = await wgplay(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAB()]);
      expect(applied.code, applied.stdout + applied.stderr).toBe(0);
      const sets = await inC('for s in wg_ifaces wg_ports; do nft list set inet wgplay_filter $s; done; for m in inbound_dnat inbound_snat outbound_dnat outbound_snat; do nft list map inet wgplay_nat $m; done');
      expect(sets).not.toMatch(/eth0|2222|10\.9\.9\./);
      expect(await inC('nft list chain inet wgplay_filter input')).not.toContain('9999');
      expect(await gatewayInterfaces()).toBe('wg-a wg-b');
      expect(await fingerprint()).toBe(clean);
      expect((await wgplay(['plan', GATEWAY_PLAYBOOK, '-i', inventoryAB()])).code).toBe(0);
    }
  });

  it('an unreadable record stops the run and changes nothing; --rebuild-record rebuilds it from the host and removes the dropped customer', async () => {
    await inC('echo "{" > /var/lib/wgplay/gateway.json');
    const onlyA = labInventory(lab, stateDir, [labVars.customers[0]!]);
    const before = await fingerprint();
    const refused = await wgplay(['apply', GATEWAY_PLAYBOOK, '-i', onlyA]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/the gateway's record \/var\/lib\/wgplay\/gateway\.json is not valid JSON .*changes nothing.*--rebuild-record/);
    expect(await fingerprint()).toBe(before);
    expect((await wgplay(['plan', GATEWAY_PLAYBOOK, '-i', onlyA])).code).toBe(1);

    const rebuilt = await wgplay(['apply', GATEWAY_PLAYBOOK, '-i', onlyA, '--rebuild-record']);
    expect(rebuilt.code, rebuilt.stdout + rebuilt.stderr).toBe(0);
    expect(await gatewayInterfaces()).toBe('wg-a');
    expect(await inC('ls /etc/wireguard')).toBe('wg-a.conf\nwg-a.key\n');
    expect(await inC('nft list ruleset')).not.toContain('wg-b');
    expect(await inC('ip rule; ip route show table all')).not.toMatch(/10\.200\.200\.2\b|10\.100\.100\.2\b|wg-b/);
    expect(Object.keys(JSON.parse(await inC('cat /var/lib/wgplay/gateway.json')).customers)).toEqual(['a']);
    // The record keeps a's values: putting b back gives it its old port and table, and nothing else changes.
    expect((await wgplay(['plan', GATEWAY_PLAYBOOK, '-i', onlyA])).code).toBe(0);
    const back = await wgplay(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAB()]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await gatewayInterfaces()).toBe('wg-a wg-b');
  });

  it('customers of a run that failed halfway, then dropped from the inventory, are removed by the next apply', async () => {
    const key = (n: number) => Buffer.alloc(32, n).toString('base64');
    const customers = [...labVars.customers, { name: 'c', public_key: key(3), address: '10.0.0.1', our_address: '10.0.0.2' }, { name: 'd', public_key: key(4), address: '10.0.0.1', our_address: '10.0.0.2' }];
    // d's listen port (51823: c takes the free 51820) is taken by another program on the gateway:
    // wg-c is made, then setting up wg-d fails and the apply stops halfway.
    const squatter = (
      await inC(
        'socat -u UDP-RECV:51823 /dev/null </dev/null >/dev/null 2>&1 & pid=$!; ' +
          // Bound before the apply starts (socat binds after the shell has moved on).
          'for i in $(seq 100); do [ -n "$(ss -Huln "sport = :51823")" ] && break; sleep 0.1; done; echo $pid',
      )
    ).trim();
    expect(await inC('ss -Huln "sport = :51823"')).not.toBe('');
    try {
      const failed = await wgplay(['apply', GATEWAY_PLAYBOOK, '-i', labInventory(lab, stateDir, customers)]);
      expect(failed.code, failed.stdout + failed.stderr).toBe(1);
      expect(failed.stdout).toMatch(/apply failed in phase "wireguard"[\s\S]*wireguard-go wg-d said:[\s\S]*address already in use/);
      expect(await gatewayInterfaces()).toMatch(/^wg-a wg-b wg-c/);
      expect(await inC('ls /etc/wireguard')).toContain('wg-d.key');
      // The record was written before anything was made: it names c and d.
      expect(Object.keys(JSON.parse(await inC('cat /var/lib/wgplay/gateway.json')).customers)).toEqual(['a', 'b', 'c', 'd']);
      await inC(`kill ${squatter}`);

      const dropped = await wgplay(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAB()]);
      expect(dropped.code, dropped.stdout + dropped.stderr).toBe(0);
      expect(await gatewayInterfaces()).toBe('wg-a wg-b');
      expect(await inC('ls /etc/wireguard')).toBe('wg-a.conf\nwg-a.key\nwg-b.conf\nwg-b.key\n');
      expect(await inC('nft list ruleset; ip rule; ip route show table all')).not.toMatch(/wg-c|wg-d|10\.200\.200\.[34]\b|10\.100\.100\.[34]\b/);
      expect(Object.keys(JSON.parse(await inC('cat /var/lib/wgplay/gateway.json')).customers)).toEqual(['a', 'b']);
      expect((await wgplay(['plan', GATEWAY_PLAYBOOK, '-i', inventoryAB()])).code).toBe(0);
    } finally {
      await inC(`kill ${squatter} 2>/dev/null || true`);
    }
  });
});
