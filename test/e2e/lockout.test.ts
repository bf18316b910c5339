// Nothing wgplay applies may cut its own SSH path, and what it owns it owns entirely
// (issue 6, section 1). On a private seed lab: each refused run is proven to change
// nothing by a fingerprint of the gateway taken before and after.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startTestSeedLab, writeInventory, type TestSeedLab } from './harness.js';
import { wgplay, writePlaybook } from './wgplayCli.js';

const PLAYBOOK = new URL('../../playbooks/gateway.yaml', import.meta.url).pathname;
const LAB_INVENTORY = new URL('../../playbooks/lab.inventory.yaml', import.meta.url).pathname;

type Customer = Record<string, unknown> & { name: string };
const labVars = (parse(readFileSync(LAB_INVENTORY, 'utf8')) as any).all.children.gateways.vars as Record<string, unknown> & { customers: Customer[] };

let lab: TestSeedLab;
let stateDir: string;
let files = 0;

/** An inventory for Host C (group "gateways") with these customers; `host` overrides connection variables. */
function inventoryWith(customers: Customer[], extra: Record<string, unknown> = {}, host: Record<string, unknown> = {}): string {
  const path = writeInventory(`${stateDir}/inv-${files++}`, [{ name: 'host-c', ssh: lab.ssh, vars: { ...labVars, customers, ...extra } }]);
  const hosts = (parse(readFileSync(path, 'utf8')) as any).all.hosts;
  Object.assign(hosts['host-c'], host);
  writeFileSync(path, stringify({ all: { children: { gateways: { hosts } } } }));
  return path;
}

/** The gateway playbook with one text replaced. */
function playbookVariant(from: string, to: string): string {
  const text = readFileSync(PLAYBOOK, 'utf8');
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

/** Everything wgplay may touch on the gateway: ruleset, rules, routes of all tables, links, addresses, its files. */
const fingerprint = () =>
  inC(
    'nft list ruleset; ip rule; ip -6 rule; ip route show table all; ip -6 route show table all; ' +
      "ip -o link show | sed 's/^[0-9]*: //'; ip -o addr show | sed 's/^[0-9]*: //'; wg show all dump | cut -f1,3,4,5; " +
      'find /etc/wireguard /etc/wgplay /var/lib/wgplay -exec stat -c "%n %a %s" {} + 2>/dev/null | sort; ' +
      'find /etc/wireguard /etc/wgplay /var/lib/wgplay -type f -exec sha256sum {} + 2>/dev/null | sort; true',
  );

/** The numeric form of a dotted IPv4 address: 172.31.250.2 -> "2887776770". */
const numericForm = (address: string) => String(address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0));

beforeAll(async () => {
  lab = await startTestSeedLab();
  stateDir = lab.ssh.privateKeyPath.replace(/\/[^/]+$/, '');
  const first = await wgplay(['apply', PLAYBOOK, '-i', inventoryWith(labVars.customers)]);
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
    await refused(playbook, inventoryWith(labVars.customers), new RegExp(`ssh\\.port is 2222, but wgplay's SSH connection arrived at ${lab.ssh.host.replace(/\./g, '\\.')} port 22`));
  });

  it('refuses ssh.interfaces closing the arrival interface when ansible_host is the numeric form of the address', async () => {
    const numeric = numericForm(lab.ssh.host);
    const inventory = inventoryWith(labVars.customers, { ssh_interfaces: ['eth0'] }, { ansible_host: numeric, wgplay_host_key_policy: 'accept-new' });
    await refused(PLAYBOOK, inventory, /wgplay reaches this host over SSH at 172\.31\.250\.\d+ on mgmt0, but ssh\.interfaces is \[eth0\]: the firewall would lock wgplay/);
  });

  it('refuses pools that cover the management network', async () => {
    const mgmtNetwork = (await inC("ip -4 -o addr show dev mgmt0 | awk '{print $4}'")).trim(); // 172.31.250.N/30
    const [address, length] = mgmtNetwork.split('/');
    const network = `${address!.replace(/\d+$/, (last) => String(Number(last) & ~3))}/${length}`;
    const playbook = playbookVariant('customer_addresses: 10.100.100.0/24', `customer_addresses: ${network}`);
    const customers = labVars.customers.map(({ translated_address, ...customer }) => customer as Customer);
    await refused(playbook, inventoryWith(customers), new RegExp(`pools\\.customer_addresses ${network.replace(/[./]/g, '\\$&')} covers the controller's address 172\\.31\\.250\\.\\d+ \\(wgplay's SSH comes from it\\)`));
  });

  it("refuses a translated address equal to one of the host's own", async () => {
    await inC('ip addr add 10.100.100.9/32 dev eth0');
    try {
      const customers = [labVars.customers[0]!, { ...labVars.customers[1]!, translated_address: '10.100.100.9' }];
      await refused(PLAYBOOK, inventoryWith(customers), /customer b: translated_address 10\.100\.100\.9 collides with 10\.100\.100\.9, an address of this host \(on eth0\)/);
    } finally {
      await inC('ip addr del 10.100.100.9/32 dev eth0');
    }
  });

  it("refuses a primitive route or rule that diverts the controller's address, unless the task opts in", async () => {
    const controller = lab.ssh.host.replace(/\d+$/, (last) => String(Number(last) - 1));
    const inventory = inventoryWith(labVars.customers);
    const route = writePlaybook([{ name: 'reroute', hosts: 'gateways', tasks: [{ name: 'controller via eth0', ip_route: { to: controller, dev: 'eth0' } }] }]);
    await refused(route, inventory, new RegExp(`task "controller via eth0".*: the route to ${controller.replace(/\./g, '\\.')} covers the controller's address`));
    const rule = writePlaybook([{ name: 'divert', hosts: 'gateways', tasks: [{ name: 'everything to 41', ip_rule: { table: 41, priority: 50 } }] }]);
    await refused(rule, inventory, /task "everything to 41".*: the rule from all table 41 priority 50 matches wgplay's SSH connection/);
    // Opted in, it is applied (table 77 is empty: lookups fall through to main, SSH survives).
    const optedIn = writePlaybook([{ name: 'divert', hosts: 'gateways', tasks: [{ name: 'controller in 77', ip_rule: { to: `${controller}/32`, table: 77, priority: 50, may_cut_ssh: true } }] }]);
    const applied = await wgplay(['apply', optedIn, '-i', inventory]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(await inC('ip rule show priority 50')).toContain(`to ${controller} lookup 77`);
    await inC('ip rule del priority 50');
  });
});
