// Every primitive task over real SSH against a real host (network + mount namespace
// with OpenSSH, wireguard-go, nftables): apply creates the state (read back from the
// kernel, not from wgplay's report), a second apply changes nothing, manual drift is
// shown exactly by `plan` (exit 2, nothing changed) and fixed by `apply`.
import { existsSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from './harness.js';
import { changedResources, expectNoPrivateKeyPrinted, wgplay, wgplayJson, writePlaybook } from './wgplayCli.js';

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';

const tasks = [
  { name: 'reserve ports', sysctl: { key: 'net.ipv4.ip_local_reserved_ports', value: '51820-51899' } },
  { name: 'a config file', file: { path: '/etc/wgplay-e2e/hello.conf', content: 'hello\nworld\n', mode: '0640' } },
  {
    name: 'tunnel',
    wireguard_interface: {
      name: 'wg-t',
      addresses: ['10.200.200.1'],
      listen_port: 51821,
      table: 41,
      peers: [{ public_key: KEY_A, allowed_ips: ['10.0.0.1'], persistent_keepalive: 25 }],
    },
  },
  { name: 'policy rule', ip_rule: { from: '10.200.200.1', table: 41, priority: 100 } },
  { name: 'route', ip_route: { to: '10.100.100.1', dev: 'wg-t' } },
  {
    name: 'firewall table',
    nft_table: {
      family: 'inet',
      name: 'wgtest',
      sets: [{ name: 'ports', type: 'inet_service' }],
      maps: [{ name: 'snat_to', type: 'ifname', value_type: 'ipv4_addr' }],
      chains: [
        { name: 'input', type: 'filter', hook: 'input', priority: 0, policy: 'accept', rules: ['udp dport @ports accept'] },
        { name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept', rules: ['snat ip to oifname map @snat_to'] },
      ],
    },
  },
  { name: 'port element', nft_element: { table: 'wgtest', set: 'ports', key: 51821 } },
  { name: 'map element', nft_element: { table: 'wgtest', set: 'snat_to', key: 'wg-t', value: '10.0.0.2' } },
];

/** Private keys the host had during this file's tests, looked for in every output at the end. */
const labKeys = new Set<string>();

let host: TestHost;
let inventory: string;
let playbook: string;

const apply = () => wgplayJson(['apply', playbook, '-i', inventory]);
const plan = () => wgplayJson(['plan', playbook, '-i', inventory]);

/** What the kernel and the host's files say, read inside the host. */
async function hostState() {
  return {
    port: (await host.run('wg show wg-t listen-port')).trim(),
    peers: (await host.run('wg show wg-t allowed-ips')).trim(),
    keyMatches: (await host.run('[ "$(wg show wg-t public-key)" = "$(wg pubkey < /etc/wireguard/wg-t.key)" ] && echo yes')).trim(),
    keyMode: (await host.run('stat -c %a /etc/wireguard/wg-t.key')).trim(),
    address: (await host.run('ip -4 -br addr show dev wg-t')).trim().split(/\s+/).slice(2).join(' '),
    rule: (await host.run('ip rule show priority 100')).trim(),
    tableRoute: (await host.run('ip route show table 41')).trim(),
    route: (await host.run('ip route show 10.100.100.1')).trim(),
    ports: (await host.run('nft -j list set inet wgtest ports')).includes('51821'),
    mapElement: (await host.run('nft list map inet wgtest snat_to')).includes('"wg-t" : 10.0.0.2'),
    inputRules: (await host.run("nft list chain inet wgtest input | grep -c 'udp dport @ports accept' || true")).trim(),
    sysctl: (await host.run('sysctl -n net.ipv4.ip_local_reserved_ports')).trim(),
    file: await host.run('cat /etc/wgplay-e2e/hello.conf; stat -c %a /etc/wgplay-e2e/hello.conf'),
  };
}

const converged = {
  port: '51821',
  peers: `${KEY_A}\t10.0.0.1/32`,
  keyMatches: 'yes',
  keyMode: '600',
  address: '10.200.200.1/32',
  rule: '100:\tfrom 10.200.200.1 lookup 41',
  tableRoute: '10.0.0.1 dev wg-t scope link',
  route: '10.100.100.1 dev wg-t scope link',
  ports: true,
  mapElement: true,
  inputRules: '1',
  sysctl: '51820-51899',
  file: 'hello\nworld\n640\n',
};

beforeAll(async () => {
  host = await startTestHost({ name: 'gw' });
  inventory = host.writeInventory();
  playbook = writePlaybook([{ name: 'every primitive task', hosts: 'all', tasks }]);
});

afterAll(async () => {
  await host?.destroy();
});

describe('primitive tasks over real SSH', () => {
  it('plan on a fresh host lists every change, exits 2 and changes nothing', async () => {
    const result = await plan();
    expect(result.code).toBe(2);
    expect(changedResources(result.report)).toContain('wireguard interface wg-t');
    expect(await host.exec('ip link show dev wg-t')).toMatchObject({ code: 1 });
    expect(result.report.hosts[0]!.roundTrips).toBe(1);
    // The summary counts every change by its action, in the JSON and on the text report's last lines.
    const changes = result.report.hosts[0]!.tasks.flatMap((task) => task.changes);
    const count = (action: string) => changes.filter((change) => change.action === action).length;
    const counts = { create: count('create'), change: count('update'), delete: count('delete') };
    expect(counts.create).toBeGreaterThan(5);
    expect(counts.create + counts.change + counts.delete).toBe(changes.length);
    expect(result.report.summary).toMatchObject({ hosts: 1, ...counts });
    expect(result.report.hosts[0]!.summary).toMatchObject(counts);
    const line = `${counts.create} to create, ${counts.change} to change, ${counts.delete} to delete`;
    const text = await wgplay(['plan', playbook, '-i', inventory]);
    expect(text.stdout).toMatch(new RegExp(`\\n  gw +changed +${line}\\n`));
    expect(text.stdout).toMatch(new RegExp(`\\n  TOTAL +1 host +${line}\\n$`));
  });

  it('apply creates every piece of state, in three round trips', async () => {
    const result = await apply();
    expect(result.report.hosts[0]!.error).toBeUndefined();
    expect(result.code).toBe(0);
    // The host lock with the facts read under it, the apply script; then, through a new
    // connection, the commit-confirmed confirmation with the verifying facts.
    expect(result.report.hosts[0]!.roundTrips).toBe(3);
    expect(await hostState()).toEqual(converged);
    // The host's /etc is an overlay in its own mount namespace: the machine's is untouched.
    expect(existsSync('/etc/wgplay-e2e/hello.conf')).toBe(false);
    expect(existsSync('/etc/wireguard/wg-t.conf')).toBe(false);
  });

  it('a second apply changes nothing', async () => {
    const result = await apply();
    expect(result.code).toBe(0);
    expect(changedResources(result.report)).toEqual([]);
    // The host lock, with the facts read under it in the same command.
    expect(result.report.hosts[0]!.roundTrips).toBe(1);
  });

  it('plan shows manual drift exactly, exits 2, changes nothing; apply fixes it', async () => {
    await host.run(
      [
        'nft delete element inet wgtest ports { 51821 }',
        'ip rule del from 10.200.200.1 table 41 priority 100',
        `wg set wg-t peer ${KEY_A} remove`,
        "printf 'hello\\nmars\\n' > /etc/wgplay-e2e/hello.conf",
      ].join('\n'),
    );
    const drifted = await hostState();
    const planned = await plan();
    expect(planned.code).toBe(2);
    expect(changedResources(planned.report).sort()).toEqual(
      [
        'file /etc/wgplay-e2e/hello.conf',
        'ip rule from 10.200.200.1 table 41 priority 100',
        'nft element inet wgtest ports 51821',
        `wireguard wg-t peer ${KEY_A}`,
      ].sort(),
    );
    const diffs = planned.report.hosts[0]!.tasks.flatMap((t) => t.changes.map((c) => c.diff)).join('\n');
    expect(diffs).toContain('+ ip rule from 10.200.200.1 table 41 priority 100');
    expect(diffs).toContain('+ inet wgtest ports 51821');
    expect(diffs).toContain('-mars\n+world');
    expect(await hostState()).toEqual(drifted);

    const applied = await apply();
    expect(applied.code).toBe(0);
    expect(await hostState()).toEqual(converged);
    expect((await plan()).code).toBe(0);
  });

  it('fixes a drifted route, kernel parameter, nft chain and interface address', async () => {
    await host.run(
      [
        'ip route del 10.100.100.1',
        'sysctl -q -w net.ipv4.ip_local_reserved_ports=1000',
        'nft flush chain inet wgtest input',
        'ip address del 10.200.200.1/32 dev wg-t',
      ].join('\n'),
    );
    const planned = await plan();
    expect(planned.code).toBe(2);
    expect(changedResources(planned.report).sort()).toEqual(
      [
        'address 10.200.200.1/32 on wg-t',
        // the kernel drops a device's IPv4 routes with its last IPv4 address
        'ip route 10.0.0.1 dev wg-t table 41',
        'ip route 10.100.100.1 dev wg-t table main',
        'nft table inet wgtest',
        // rewritten from the table once it is fixed
        'nft boot file /etc/wgplay/nftables/inet-wgtest.nft',
        'sysctl net.ipv4.ip_local_reserved_ports',
      ].sort(),
    );
    expect((await apply()).code).toBe(0);
    expect(await hostState()).toEqual(converged);
  });

  it('recreates an interface that disappeared (its wireguard-go died), with its rule and routes', async () => {
    await host.run('ip link del dev wg-t');
    const planned = await plan();
    expect(planned.code).toBe(2);
    expect(changedResources(planned.report)).toContain('wireguard interface wg-t');
    expect((await apply()).code).toBe(0);
    expect(await hostState()).toEqual(converged);
  });

  it('converges on values written in any valid spelling (uncompressed or upper-case IPv6, /32)', async () => {
    const spelled = writePlaybook([
      {
        name: 'spellings',
        hosts: 'all',
        tasks: [
          {
            name: 'v6 tunnel',
            wireguard_interface: {
              name: 'wg-s',
              addresses: ['FD00:0:0:0::1/64', '10.201.0.1/24'],
              peers: [{ public_key: KEY_A, allowed_ips: ['fd00:200:0:0::1', 'FD00:300::/64', '10.202.0.7/32'] }],
            },
          },
          { name: 'v6 rule', ip_rule: { from: 'FD00:0::1', table: 42, priority: 150 } },
          { name: 'v6 route', ip_route: { to: 'FD00:400:0::/64', dev: 'wg-s', table: 42 } },
          { name: 'v4 route', ip_route: { to: '10.202.0.7/32', dev: 'wg-s', table: 42 } },
          {
            name: 'nft as written, not as listed',
            nft_table: {
              name: 'spelled',
              chains: [
                { name: 'post', type: 'nat', hook: 'postrouting', priority: 100, rules: ['oifname veth-e0 masquerade'] },
                { name: 'in', type: 'filter', hook: 'input', priority: 0, rules: ['tcp dport {80,443} accept', 'ip6 saddr FD00:0::1 accept'] },
              ],
            },
          },
        ],
      },
    ]);
    const applied = await wgplayJson(['apply', spelled, '-i', inventory]);
    expect(applied.code, JSON.stringify(applied.report.hosts[0]?.error)).toBe(0);
    expect(await host.run('ip -6 -br addr show dev wg-s')).toContain('fd00::1/64');
    expect(await host.run('wg show wg-s allowed-ips')).toMatch(/fd00:200::1\/128/);
    const again = await wgplayJson(['plan', spelled, '-i', inventory]);
    expect(again.code).toBe(0);
    expect(changedResources(again.report)).toEqual([]);
    expect(await host.run('nft list chain inet spelled post')).toContain('oifname "veth-e0" masquerade');
    await host.run('ip link del dev wg-s; ip -6 rule del priority 150; ip route flush table 42; ip -6 route flush table 42; rm -f /etc/wireguard/wg-s.*; nft delete table inet spelled; rm -f /etc/wgplay/nftables/inet-spelled.nft /etc/systemd/system/wgplay-nft-inet-spelled.service /etc/systemd/system/*.wants/wgplay-nft-inet-spelled.service /etc/systemd/system/*.wants/wg-quick@wg-s.service');
  });

  it('refuses invalid nft before changing anything, with nft\'s error and the rule it came from', async () => {
    const before = await host.run('nft list ruleset; ls /etc/wgplay-e2e');
    const invalid = writePlaybook([
      {
        name: 'invalid nft',
        hosts: 'all',
        tasks: [
          { name: 'a file', file: { path: '/etc/wgplay-e2e/not-yet', content: 'x\n' } },
          { name: 'broken table', nft_table: { name: 'broken', chains: [{ name: 'c', rules: ['accept', 'oifname veth-e0 masquerad'] }] } },
        ],
      },
    ]);
    const result = await wgplay(['apply', invalid, '-i', inventory]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/nft refuses the table: chains\[0\]\.rules\[1\]: Error: syntax error/);
    expect(await host.run('nft list ruleset; ls /etc/wgplay-e2e')).toBe(before);
  });

  it('recreates a set without its interval flag and a map with another value type, keeping only the elements that still fit', async () => {
    await host.run(
      "nft -f - <<'EOF'\n" +
        'table inet redefined {\n' +
        '  set nets { type ipv4_addr; flags interval; elements = { 10.0.0.1, 10.1.0.0/16 }; }\n' +
        '  map dnat_to { type ifname : ipv4_addr; elements = { "wg-a" : 10.200.200.1 }; }\n' +
        '  chain pre { type nat hook prerouting priority -100; policy accept; ip saddr @nets dnat ip to iifname map @dnat_to; }\n' +
        '}\nEOF',
    );
    const redefined = writePlaybook([
      {
        name: 'redefined',
        hosts: 'all',
        tasks: [
          {
            name: 'table',
            nft_table: {
              name: 'redefined',
              persist: false,
              sets: [{ name: 'nets', type: 'ipv4_addr' }],
              maps: [{ name: 'dnat_to', type: 'ifname', value_type: 'ipv6_addr' }],
              chains: [{ name: 'pre', type: 'nat', hook: 'prerouting', priority: -100, rules: ['ip6 saddr fd00::1 dnat ip6 to iifname map @dnat_to'] }],
            },
          },
        ],
      },
    ]);
    const applied = await wgplayJson(['apply', redefined, '-i', inventory]);
    expect(applied.code, JSON.stringify(applied.report.hosts[0]?.error)).toBe(0);
    const listed = await host.run('nft list table inet redefined');
    expect(listed).not.toContain('flags interval');
    expect(listed).toMatch(/set nets \{\s+type ipv4_addr\s+elements = \{ 10\.0\.0\.1 \}\s+\}/);
    expect(listed).toMatch(/map dnat_to \{\s+type ifname : ipv6_addr\s+\}/);
    expect((await wgplayJson(['plan', redefined, '-i', inventory])).code).toBe(0);
    await host.run('nft delete table inet redefined');
  });

  it('never shows a file that holds a private key, and scrubs a key wg could not read from its error', async () => {
    const key = (await host.run('wg genkey')).trim();
    labKeys.add(key);
    await host.run(`mkdir -p /etc/wgplay-e2e && printf '[Interface]\\nPrivateKey = %s\\n' '${key}' > /etc/wgplay-e2e/other.conf`);
    const secretFile = writePlaybook([{ name: 'secret', hosts: 'all', tasks: [{ name: 'conf', file: { path: '/etc/wgplay-e2e/other.conf', content: '[Interface]\n' } }] }]);
    for (const args of [['plan', secretFile, '-i', inventory], ['plan', secretFile, '-i', inventory, '--json']]) {
      const shown = await wgplay(args);
      expect(shown.code).toBe(2);
      expect(shown.stdout).toContain('content differs (secret)');
      expect(shown.stdout + shown.stderr).not.toContain(key.slice(0, 20));
    }
    // A corrupted key file: wg refuses it quoting the key; the report must not.
    const liveKey = (await host.run('cat /etc/wireguard/wg-t.key')).trim();
    labKeys.add(liveKey);
    await host.run(`printf '%s\\n' '${liveKey.slice(0, 43)}' > /etc/wireguard/wg-t.key`);
    const broken = await wgplay(['apply', playbook, '-i', inventory]);
    expect(broken.code).toBe(1);
    expect(broken.stdout + broken.stderr).toContain('(redacted)');
    expect(broken.stdout + broken.stderr).not.toContain(liveKey.slice(0, 20));
    await host.run(`printf '%s\\n' '${liveKey}' > /etc/wireguard/wg-t.key; rm -f /etc/wgplay-e2e/other.conf`);
    expect((await apply()).code).toBe(0);
  });

  it('state: absent removes everything the playbook made, and nothing else', async () => {
    await host.run('ip rule add from 10.9.9.9 table 99 priority 200; nft add table inet other');
    const absent = writePlaybook([
      {
        name: 'remove',
        hosts: 'all',
        tasks: [
          { name: 'map element', nft_element: { table: 'wgtest', set: 'snat_to', key: 'wg-t', state: 'absent' } },
          { name: 'table', nft_table: { name: 'wgtest', state: 'absent' } },
          { name: 'route', ip_route: { to: '10.100.100.1', state: 'absent' } },
          { name: 'rule', ip_rule: { from: '10.200.200.1', table: 41, priority: 100, state: 'absent' } },
          { name: 'tunnel', wireguard_interface: { name: 'wg-t', state: 'absent' } },
          { name: 'file', file: { path: '/etc/wgplay-e2e/hello.conf', state: 'absent' } },
        ],
      },
    ]);
    const result = await wgplayJson(['apply', absent, '-i', inventory]);
    expect(result.code).toBe(0);
    expect(await host.exec('ip link show dev wg-t')).toMatchObject({ code: 1 });
    expect(await host.run('ls /etc/wireguard')).toBe('');
    expect(await host.run('ip rule show priority 100')).toBe('');
    expect(await host.run('nft list tables')).toBe('table inet other\n');
    // Nothing of it comes back at boot either.
    expect(await host.run('ls -A /etc/wgplay/nftables; ls /etc/systemd/system/*.target.wants/ /etc/systemd/system | grep -E "wgplay|wg-quick" || true')).toBe('');
    expect(await host.run('ip rule show priority 200')).toContain('from 10.9.9.9 lookup 99');
    const again = await wgplayJson(['apply', absent, '-i', inventory]);
    expect(changedResources(again.report)).toEqual([]);
  });

  it('uses the same three round trips for 100 tasks as for one', async () => {
    const many = writePlaybook([
      {
        name: 'many files',
        hosts: 'all',
        tasks: Array.from({ length: 100 }, (_, i) => ({ name: `file ${i}`, file: { path: `/etc/wgplay-many/f${i}`, content: `${i}\n` } })),
      },
    ]);
    const result = await wgplayJson(['apply', many, '-i', inventory]);
    expect(result.code).toBe(0);
    expect(changedResources(result.report)).toHaveLength(100);
    // Lock with the facts, apply, verify: files alone cannot cut SSH, so no confirmation.
    expect(result.report.hosts[0]!.roundTrips).toBe(3);
    expect((await host.run('ls /etc/wgplay-many | wc -l')).trim()).toBe('100');
  });
});

describe('output', () => {
  it('shows listr2 progress per host on a terminal, plain lines otherwise', async () => {
    const { spawnSync } = await import('node:child_process');
    const bin = new URL('../../bin/wgplay.js', import.meta.url).pathname;
    // `script` gives the CLI a pseudo-terminal, as an operator's shell would.
    const tty = spawnSync('script', ['-qfec', `stty cols 120 rows 40; ${process.execPath} ${bin} plan ${playbook} -i ${inventory}`, '/dev/null'], { encoding: 'utf8' });
    expect(stripVTControlCharacters(tty.stdout)).toMatch(/✔ gw: (ok|changed \(\d+ changes\))/);
    expect(tty.stdout).toContain('RECAP');
    const plain = await wgplay(['plan', playbook, '-i', inventory]);
    expect(plain.stderr).toBe('[gw] connect\n[gw] facts\n[gw] plan\n');
    expect(stripVTControlCharacters(plain.stdout)).toBe(plain.stdout);
  });
});

describe('exit codes and refusals', () => {
  it('exits 4 when a host is unreachable, and says which', async () => {
    const unreachable = host.writeInventory(`${host.host.stateDir}/unreachable`);
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(unreachable, readFileSync(unreachable, 'utf8').replace(/ansible_port: \d+/, 'ansible_port: 2'));
    const result = await wgplay(['plan', playbook, '-i', unreachable]);
    expect(result.code).toBe(4);
    expect(result.stdout).toMatch(/gw\s+unreachable/);
  });

  it('refuses an unknown host key, showing its fingerprint', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const dir = `${host.host.stateDir}/unknown-key`;
    const path = host.writeInventory(dir);
    writeFileSync(`${dir}/empty_known_hosts`, '');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/wgplay_known_hosts_file: .*/, `wgplay_known_hosts_file: ${dir}/empty_known_hosts`));
    const result = await wgplay(['plan', playbook, '-i', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(result.stdout).toMatch(/unknown|not known/i);
  });

  it('refuses a changed host key', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const dir = `${host.host.stateDir}/changed-key`;
    const path = host.writeInventory(dir);
    const real = readFileSync(host.ssh.knownHostsPath, 'utf8');
    // Same host, same key type, another key.
    const other = real.replace(/ssh-ed25519 \S+/, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl');
    writeFileSync(`${dir}/changed_known_hosts`, other);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/wgplay_known_hosts_file: .*/, `wgplay_known_hosts_file: ${dir}/changed_known_hosts`));
    const result = await wgplay(['plan', playbook, '-i', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/changed/i);
  });

  it('rejects bad input with file:line:col before contacting any host', async () => {
    const { writeFileSync } = await import('node:fs');
    const unknownTask = writePlaybook([]);
    writeFileSync(unknownTask, '- name: broken\n  hosts: all\n  tasks:\n    - name: unknown\n      nft_tabel: { name: x }\n');
    const unknown = await wgplay(['apply', unknownTask, '-i', inventory]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/playbook\.yaml:5:7: .*nft_tabel.*did you mean "nft_table"/);
    expect(unknown.stdout).toBe('');

    const badArgs = writePlaybook([]);
    writeFileSync(
      badArgs,
      '- name: broken\n  hosts: all\n  tasks:\n    - name: rule\n      ip_rule: { from: 10.0.0.1, table: "forty-one" }\n' +
        '    - name: file\n      file: { path: /etc/wgplay-bad, content: x, mode: 999 }\n',
    );
    const bad = await wgplay(['apply', badArgs, '-i', inventory]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/playbook\.yaml:5:\d+: .*ip_rule\.table/);
    expect(bad.stderr).toMatch(/playbook\.yaml:7:\d+: .*file\.mode/);
    expect(await host.exec('test -e /etc/wgplay-bad')).toMatchObject({ code: 1 });

    const missing = await wgplay(['plan', 'no/such/playbook.yaml', '-i', inventory]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no/such/playbook.yaml');
    const noInventory = await wgplay(['plan', playbook, '-i', 'no/such/inventory.yaml']);
    expect(noInventory.code).toBe(1);
    expect(noInventory.stderr).toContain('no/such/inventory.yaml');
    const noHosts = writePlaybook([{ name: 'nobody', hosts: 'webservers', tasks: [] }]);
    const pattern = await wgplay(['plan', noHosts, '-i', inventory]);
    expect(pattern.code).toBe(1);
    expect(pattern.stderr).toMatch(/playbook\.yaml:2:\d+: .*webservers/);
  });

  it('with --json, input errors are a JSON report listing each place; validate --json too', async () => {
    const { writeFileSync } = await import('node:fs');
    const badArgs = writePlaybook([]);
    writeFileSync(
      badArgs,
      '- name: broken\n  hosts: all\n  tasks:\n    - name: rule\n      ip_rule: { from: 10.0.0.1, table: "forty-one" }\n' +
        '    - name: file\n      file: { path: /etc/wgplay-bad, content: x, mode: 999 }\n',
    );
    for (const command of ['plan', 'apply', 'validate']) {
      const bad = await wgplayJson([command, badArgs, '-i', inventory]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe('');
      const errors = (bad.report as unknown as { errors: { where: string; message: string }[] }).errors;
      const lines = errors.map((error) => error.where.match(/playbook\.yaml:(\d+):\d+$/)?.[1]);
      expect(new Set(lines)).toEqual(new Set(['5', '7']));
    }
    expect(await host.exec('test -e /etc/wgplay-bad')).toMatchObject({ code: 1 });
    const usage = await wgplayJson(['plan', badArgs]);
    expect(usage.code).toBe(1);
    expect((usage.report as unknown as { errors: { message: string }[] }).errors[0]!.message).toContain('-i INVENTORY');

    const valid = await wgplayJson(['validate', playbook, '-i', inventory]);
    expect(valid.code).toBe(0);
    expect(valid.report).toEqual({ format: 1, command: 'validate', exitCode: 0, valid: true, hosts: [{ host: 'gw', tasks: tasks.length }] });
  });
});

describe('secrets', () => {
  it('no private key of the host appears in anything wgplay printed in this file', () => {
    expect(labKeys.size).toBeGreaterThanOrEqual(2);
    expectNoPrivateKeyPrinted([...labKeys]);
  });
});
