// The gateway survives a reboot without wgplay: wgplay applies the seed gateway to Host C
// of a private seed lab, Host C loses everything a reboot loses, then runs what a Debian
// boot would run, read from its own /etc (bootSimulator.ts). Both customers' traffic
// comes back, a removed customer does not, and `wgplay plan` finds nothing to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVATE_KEY_PLACEHOLDER } from '../../src/modules/gateway/customerConfig.js';
import { adoptAsOwnDisk, boot, powerOff } from './bootSimulator.js';
import { GATEWAY_PLAYBOOK, type LabCustomer, labInventory, labVars, OWN_DAEMONS_SCRIPT, startTestSeedLab, type TestSeedLab } from './harness.js';
import { changedResources, wgplay, wgplayJson } from './wgplayCli.js';

let lab: TestSeedLab;
let stateDir: string;

const runInC = (script: string) => lab.lab.runInHost('c', script);
async function inHost(id: string, script: string): Promise<string> {
  const result = await lab.lab.runInHost(id, script);
  if (result.code !== 0) throw new Error(`in host ${id}: ${script}\n${result.stderr}`);
  return result.stdout;
}
const inC = (script: string) => inHost('c', script);

async function connectCustomer(id: string, inventory: string): Promise<void> {
  const result = await wgplay(['customer-config', id, GATEWAY_PLAYBOOK, '-i', inventory]);
  expect(result.code, result.stderr).toBe(0);
  await lab.lab.configureCustomer(id, result.stdout.replace(PRIVATE_KEY_PLACEHOLDER, lab.lab.customerKeys(id).privateKey));
}

/** One traffic check: runs `script` in host `id` until its output matches (or the deadline passes); ms it took from `since`. */
async function waitForTraffic(id: string, script: string, expected: RegExp, since: number, deadlineMs = 180_000): Promise<number> {
  let last = '';
  while (Date.now() - since < deadlineMs) {
    const result = await lab.lab.runInHost(id, script);
    if (result.code === 0 && expected.test(result.stdout)) return Date.now() - since;
    last = `${result.stdout}${result.stderr}`;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`host ${id}: ${script} never matched ${expected} within ${deadlineMs} ms; last: ${last}`);
}

const curl = (url: string) => `curl -sS --max-time 2 ${url}`;
const wantsLink = (unit: string, target = 'multi-user') => `/etc/systemd/system/${target}.target.wants/${unit}`;
const NAT_BOOT_FILE = '/etc/wgplay/nftables/inet-wgplay_nat.nft';

beforeAll(async () => {
  lab = await startTestSeedLab();
  stateDir = lab.ssh.privateKeyPath.replace(/\/[^/]+$/, '');
  // Host C's /etc is an overlay of this machine's: its inherited units are not Host C's.
  await adoptAsOwnDisk(runInC);
});

afterAll(async () => {
  await lab?.destroy();
});

describe('persistence across a reboot', () => {
  let inventoryAB: string;

  it('after an apply, the boot files reproduce the gateway; a removed customer leaves none', async () => {
    const x = (await inC('k=$(wg genkey); printf %s "$k" | wg pubkey')).trim();
    const customerX: LabCustomer = { name: 'x', public_key: x, address: '10.0.0.1', our_address: '10.0.0.2' };
    const withX = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', labInventory(lab, stateDir, [...labVars.customers, customerX])]);
    expect(withX.report.hosts[0]!.error).toBeUndefined();
    expect(withX.code).toBe(0);
    expect(await inC(`readlink ${wantsLink('wg-quick@wg-x.service')}`)).toBe('/lib/systemd/system/wg-quick@.service\n');

    inventoryAB = labInventory(lab, stateDir, labVars.customers);
    const removed = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAB]);
    expect(removed.code).toBe(0);
    expect(changedResources(removed.report)).toContain('systemd unit wg-quick@wg-x.service enabled (multi-user.target)');

    // As `systemctl enable` leaves them: links to the unit files.
    const links = await inC('cd /etc/systemd/system && for l in *.target.wants/*; do echo "$l -> $(readlink "$l")"; done');
    expect(links).toBe(
      [
        'multi-user.target.wants/wg-quick@wg-a.service -> /lib/systemd/system/wg-quick@.service',
        'multi-user.target.wants/wg-quick@wg-b.service -> /lib/systemd/system/wg-quick@.service',
        'sysinit.target.wants/wgplay-nft-inet-wgplay_filter.service -> /etc/systemd/system/wgplay-nft-inet-wgplay_filter.service',
        'sysinit.target.wants/wgplay-nft-inet-wgplay_nat.service -> /etc/systemd/system/wgplay-nft-inet-wgplay_nat.service',
        '',
      ].join('\n'),
    );
    expect(await inC('ls /etc/wireguard /etc/wgplay/nftables /etc/sysctl.d/*.conf')).toBe(
      '/etc/sysctl.d/90-wgplay-net.ipv4.ip_local_reserved_ports.conf\n\n/etc/wgplay/nftables:\ninet-wgplay_filter.nft\ninet-wgplay_nat.nft\n\n' +
        '/etc/wireguard:\nwg-a.conf\nwg-a.key\nwg-b.conf\nwg-b.key\n',
    );
    // The boot file is the live table, and loading it replaces only that table.
    const bootFile = await inC(`cat ${NAT_BOOT_FILE}`);
    expect(bootFile).toContain('table inet wgplay_nat\ndelete table inet wgplay_nat\ntable inet wgplay_nat {');
    expect(bootFile).not.toMatch(/flush ruleset|wg-x/);
    expect(bootFile.slice(bootFile.indexOf('table inet wgplay_nat {'))).toBe(await inC('nft -s list table inet wgplay_nat'));
  });

  it('a simulated reboot brings both customers back without wgplay; then plan has nothing to do', async () => {
    await connectCustomer('a', inventoryAB);
    await connectCustomer('b', inventoryAB);
    expect(await inHost('a', curl('http://10.0.0.2:8080/'))).toMatch(/you are 10\.100\.100\.1$/m);

    await powerOff(runInC);
    expect(await inC('ip -o link show type tun; nft list ruleset; ip rule show priority 100; ls /run')).toBe('lock\nsshd\n');
    expect((await lab.lab.runInHost('a', curl('http://10.0.0.2:8080/'))).code).not.toBe(0);

    const started = Date.now();
    const record = await boot(runInC, { WG_QUICK_USERSPACE_IMPLEMENTATION: 'wireguard-go' });
    const bootMs = Date.now() - started;
    expect(record.sysctlFiles).toEqual(['/etc/sysctl.d/90-wgplay-net.ipv4.ip_local_reserved_ports.conf']);
    expect(record.units.map((unit) => `${unit.target}: ${unit.commands.join('; ')}`)).toEqual([
      'sysinit: /usr/sbin/nft -f /etc/wgplay/nftables/inet-wgplay_filter.nft',
      'sysinit: /usr/sbin/nft -f /etc/wgplay/nftables/inet-wgplay_nat.nft',
      'multi-user: WG_ENDPOINT_RESOLUTION_RETRIES=infinity /usr/bin/wg-quick up wg-a',
      'multi-user: WG_ENDPOINT_RESOLUTION_RETRIES=infinity /usr/bin/wg-quick up wg-b',
    ]);

    const [inboundA, inboundB] = await Promise.all([
      waitForTraffic('a', curl('http://10.0.0.2:8080/'), /you are 10\.100\.100\.1$/m, started),
      waitForTraffic('b', curl('http://10.0.0.2:8080/'), /you are 10\.100\.100\.2$/m, started),
    ]);
    const [outboundA, outboundB] = await Promise.all([
      waitForTraffic('c', curl('http://10.100.100.1/'), /^hello from host-a; you are 10\.0\.0\.2$/m, started),
      waitForTraffic('c', curl('http://10.100.100.2/'), /^hello from host-b; you are 10\.0\.0\.2$/m, started),
    ]);
    console.log(
      `simulated boot of Host C: boot commands ${bootMs} ms; traffic restored after (ms from boot start): ` +
        `A->gateway ${inboundA}, B->gateway ${inboundB}, gateway->A ${outboundA}, gateway->B ${outboundB}`,
    );

    expect(await inC('sysctl -n net.ipv4.ip_local_reserved_ports; ip rule show priority 100')).toBe(
      '51820-55819\n100:\tfrom 10.200.200.1 lookup 41\n100:\tfrom 10.200.200.2 lookup 42\n',
    );
    expect((await lab.lab.runInHost('c', 'ip link show dev wg-x')).code).not.toBe(0);
    const plan = await wgplayJson(['plan', GATEWAY_PLAYBOOK, '-i', inventoryAB]);
    expect(changedResources(plan.report)).toEqual([]);
    expect(plan.code).toBe(0);
  });

  it('plan shows persistence drift (a unit disabled by hand, a boot file edited) and apply fixes it', async () => {
    const daemons = () => inC(OWN_DAEMONS_SCRIPT);
    const daemonsBefore = await daemons();
    await inC(`rm ${wantsLink('wg-quick@wg-b.service')}; sed -i 's/10\\.200\\.200\\.2/10.200.200.9/' ${NAT_BOOT_FILE}`);

    const plan = await wgplayJson(['plan', GATEWAY_PLAYBOOK, '-i', inventoryAB]);
    expect(plan.code).toBe(2);
    expect(changedResources(plan.report).sort()).toEqual([`nft boot file ${NAT_BOOT_FILE}`, 'systemd unit wg-quick@wg-b.service enabled (multi-user.target)']);
    const diffs = plan.report.hosts[0]!.tasks.flatMap((task) => task.changes.map((change) => change.diff)).join('\n');
    expect(diffs).toMatch(/^-.*"wg-b" : 10\.200\.200\.9/m);
    expect(diffs).toMatch(/^\+.*"wg-b" : 10\.200\.200\.2/m);
    expect(diffs).toContain(`+ ${wantsLink('wg-quick@wg-b.service')} -> /lib/systemd/system/wg-quick@.service`);

    const fixed = await wgplayJson(['apply', GATEWAY_PLAYBOOK, '-i', inventoryAB]);
    expect(fixed.code).toBe(0);
    expect(await inC(`readlink ${wantsLink('wg-quick@wg-b.service')}; grep -c 10.200.200.9 ${NAT_BOOT_FILE} || true`)).toBe('/lib/systemd/system/wg-quick@.service\n0\n');
    expect(await daemons()).toBe(daemonsBefore);
    expect((await wgplayJson(['plan', GATEWAY_PLAYBOOK, '-i', inventoryAB])).code).toBe(0);
  });
});
