import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NftTableFact } from '../../src/facts/types.js';
import { compileApplyScript, lastPhase, phaseSeconds } from '../../src/engine/compile.js';
import { fileTask as fileTaskContract } from '../../src/tasks/file.js';
import { ipRouteTask as ipRouteTaskContract } from '../../src/tasks/ipRoute.js';
import { ipRuleTask as ipRuleTaskContract } from '../../src/tasks/ipRule.js';
import { nftElementTask as nftElementTaskContract } from '../../src/tasks/nftElement.js';
import { nftTableTask as nftTableTaskContract, type NftTableArgs } from '../../src/tasks/nftTable.js';
import { sysctlTask as sysctlTaskContract } from '../../src/tasks/sysctl.js';
import { wireguardInterfaceTask as wireguardInterfaceTaskContract, type WireguardInterfaceArgs } from '../../src/tasks/wireguardInterface.js';
import { blankFacts as emptyFacts } from '../../src/facts/blankFacts.js';
import { parseNftCanonical } from '../../src/facts/parseNft.js';
import { validatedTask } from './validatedTask.js';

const fileTask = validatedTask(fileTaskContract);
const ipRouteTask = validatedTask(ipRouteTaskContract);
const ipRuleTask = validatedTask(ipRuleTaskContract);
const nftElementTask = validatedTask(nftElementTaskContract);
const nftTableTask = validatedTask(nftTableTaskContract);
const sysctlTask = validatedTask(sysctlTaskContract);
const wireguardInterfaceTask = validatedTask(wireguardInterfaceTaskContract);
import { validateArgs } from '../../src/playbook/validate.js';
import type { TaskModule } from '../../src/tasks/types.js';

/** A task's arguments validated as a playbook's are: schema (canonical network values), then checks. */
const validate = (task: Pick<TaskModule, 'name' | 'schema' | 'check'>, args: unknown) =>
  validateArgs(task.name, task.schema, task.check?.bind(task), args).map((issue) => ({ path: issue.pointer, message: issue.message }));

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';
const KEY_B = 'fE/wdxzl0klVp/IR8UcaoGUMjqaWi3jAd7KzHKFS6Ds=';
const KEY_C = 'jUd41n3XYa3yXBzyBvWqlLhYgRef5RiBD7jwo70U+Rw=';
const steps = (changes: { steps: { kind: string; line?: string; script?: string }[] }[]) =>
  changes.flatMap((change) => change.steps.map((step) => step.line ?? step.script));

describe('ip_rule', () => {
  const rule = { from: '10.200.200.1', table: 41, priority: 100 };
  const live = { family: 'inet' as const, priority: 100, from: '10.200.200.1', table: '41' };

  it('adds a missing rule, keeps a present one, deletes an absent one', () => {
    expect(steps(ipRuleTask.plan(rule, emptyFacts()))).toEqual(['rule add from 10.200.200.1 table 41 priority 100']);
    expect(ipRuleTask.plan(rule, emptyFacts({ rules: [live] }))).toEqual([]);
    expect(steps(ipRuleTask.plan({ ...rule, state: 'absent' }, emptyFacts({ rules: [live, live] })))).toEqual([
      'rule del from 10.200.200.1 table 41 priority 100',
      'rule del from 10.200.200.1 table 41 priority 100',
    ]);
    expect(ipRuleTask.plan({ ...rule, state: 'absent' }, emptyFacts())).toEqual([]);
  });

  it('treats a rule with another table as drift', () => {
    const diff = ipRuleTask.plan(rule, emptyFacts({ rules: [{ ...live, table: '42' }] }))[0]!.diff;
    expect(diff).toBe('+ ip rule from 10.200.200.1 table 41 priority 100');
  });

  it('rejects malformed addresses', () => {
    expect(validate(ipRuleTask, { from: '10.0.0.300', table: 41 })).toEqual([{ path: '/from', message: '"10.0.0.300" is not an IP address' }]);
  });
});

describe('ip_route', () => {
  const route = { to: '10.100.100.1', dev: 'wg-a' };
  it('creates, keeps, moves and deletes', () => {
    expect(steps(ipRouteTask.plan(route, emptyFacts()))).toEqual(['route replace 10.100.100.1 dev wg-a table main']);
    const live = { family: 'inet' as const, dst: '10.100.100.1', dev: 'wg-a', table: 'main' };
    expect(ipRouteTask.plan(route, emptyFacts({ routes: [live] }))).toEqual([]);
    const moved = ipRouteTask.plan(route, emptyFacts({ routes: [{ ...live, dev: 'wg-b' }] }));
    expect(moved[0]!.diff).toBe('- ip route 10.100.100.1 dev wg-b table main\n+ ip route 10.100.100.1 dev wg-a table main');
    expect(steps(ipRouteTask.plan({ to: '10.100.100.1/32', state: 'absent' }, emptyFacts({ routes: [live] })))).toEqual([
      // 10.100.100.1/32 is written the way ip prints it.
      'route del 10.100.100.1 table main',
    ]);
  });
});

describe('nft_element', () => {
  const table: NftTableFact = {
    family: 'inet',
    name: 'wgplay_nat',
    chains: [],
    sets: [{ kind: 'map', name: 'inbound_dnat', keyType: 'ifname', valueType: 'ipv4_addr', flags: [], elements: [{ key: 'wg-a', value: '10.200.200.1' }] }],
  };
  const facts = emptyFacts({ nftTables: [table] });
  const element = { table: 'wgplay_nat', set: 'inbound_dnat', key: 'wg-a', value: '10.200.200.1' };

  it('adds, keeps, replaces a changed value and deletes', () => {
    expect(nftElementTask.plan(element, facts)).toEqual([]);
    expect(steps(nftElementTask.plan({ ...element, key: 'wg-b' }, facts))).toEqual(['add element inet wgplay_nat inbound_dnat { "wg-b" : 10.200.200.1 }']);
    const changed = nftElementTask.plan({ ...element, value: '10.200.200.9' }, facts);
    expect(steps(changed)).toEqual([
      'delete element inet wgplay_nat inbound_dnat { "wg-a" }',
      'add element inet wgplay_nat inbound_dnat { "wg-a" : 10.200.200.9 }',
    ]);
    expect(changed[0]!.diff).toBe('- inet wgplay_nat inbound_dnat wg-a : 10.200.200.1\n+ inet wgplay_nat inbound_dnat wg-a : 10.200.200.9');
    expect(steps(nftElementTask.plan({ ...element, state: 'absent' }, facts))).toEqual(['delete element inet wgplay_nat inbound_dnat { "wg-a" }']);
  });

  it('refuses elements that would smuggle nft syntax', () => {
    expect(nftElementTask.check!({ ...element, key: 'wg-a" } ; flush ruleset ; {' })).toHaveLength(1);
  });
});

describe('nft_table', () => {
  const spec: NftTableArgs = {
    name: 'wgplay_filter',
    sets: [{ name: 'wg_ports', type: 'inet_service' }],
    chains: [{ name: 'input', type: 'filter', hook: 'input', priority: 0, policy: 'drop', rules: ['iif "lo" accept', 'udp dport @wg_ports accept'] }],
  };
  const live: NftTableFact = {
    family: 'inet',
    name: 'wgplay_filter',
    sets: [{ kind: 'set', name: 'wg_ports', keyType: 'inet_service', flags: [], elements: [{ key: '51821' }] }],
    chains: [{ name: 'input', type: 'filter', hook: 'input', priority: 0, policy: 'drop', rules: ['iif "lo" accept', 'udp dport @wg_ports accept'] }],
  };

  it('creates the table in one transaction and leaves a matching one alone', () => {
    const created = nftTableTask.plan({ ...spec, persist: false }, emptyFacts());
    expect(created).toHaveLength(1);
    expect(created[0]!.steps[0]).toMatchObject({ kind: 'nft', phase: 'firewall' });
    expect(steps(created)[0]).toContain('add table inet wgplay_filter\ndelete table inet wgplay_filter\ntable inet wgplay_filter {');
    expect(nftTableTask.plan({ ...spec, persist: false }, emptyFacts({ nftTables: [live] }))).toEqual([]);
  });

  it('replaces a drifted table, keeping the elements nft_element manages', () => {
    const drifted = { ...live, chains: [{ ...live.chains[0]!, rules: ['iif "lo" accept'] }] };
    const [change] = nftTableTask.plan(spec, emptyFacts({ nftTables: [drifted] }));
    expect(change!.action).toBe('update');
    expect(change!.diff).toContain('+\t\tudp dport @wg_ports accept');
    expect(steps([change!])[0]).toContain('elements = { 51821 }');
  });

  it('compares rules as nft reads them: another valid spelling is no change', () => {
    const spelled: NftTableArgs = {
      name: 'nat',
      persist: false,
      chains: [{ name: 'post', type: 'nat', hook: 'postrouting', priority: 100, rules: ['oifname veth-e0 masquerade'] }],
    };
    const liveNat: NftTableFact = {
      family: 'inet',
      name: 'nat',
      sets: [],
      chains: [{ name: 'post', type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept', rules: ['oifname "veth-e0" masquerade'] }],
    };
    // What the fact script's scratch namespace listed back for the wanted table.
    const listed = parseNftCanonical(
      ['mode scratch', 'table inet nat {', '\tchain post {', '\t\ttype nat hook postrouting priority srcnat; policy accept;', '\t\toifname "veth-e0" masquerade', '\t}', '}'],
      0,
    );
    expect(listed).toEqual({ mode: 'scratch', rules: { post: ['oifname "veth-e0" masquerade'] } });
    expect(nftTableTask.plan(spelled, emptyFacts({ nftTables: [liveNat], nftCanonical: { 'inet nat': listed } }))).toEqual([]);
    // Without nft's reading, the spelling alone would differ.
    expect(nftTableTask.plan(spelled, emptyFacts({ nftTables: [liveNat] }))).toHaveLength(1);
    // The wanted table goes to the host for nft to read, in the facts round trip.
    expect(nftTableTask.facts(spelled)).toMatchObject({ nftCanonical: [{ family: 'inet', name: 'nat', text: expect.stringContaining('oifname veth-e0 masquerade') }] });
  });

  it('refuses invalid nft with nft\'s error, naming the rule it came from', () => {
    const bad: NftTableArgs = { name: 'nat', chains: [{ name: 'post', rules: ['accept', 'oifname veth-e0 masquerad'] }] };
    const refused = parseNftCanonical(['mode scratch', '/dev/stdin:4:27-27: Error: syntax error, unexpected newline', '\t\toifname veth-e0 masquerad', '\t\t                         ^'], 1);
    expect(() => nftTableTask.plan(bad, emptyFacts({ nftCanonical: { 'inet nat': refused } }))).toThrow(
      'nft refuses the table: chains[0].rules[1]: Error: syntax error, unexpected newline',
    );
  });

  it("names the chain, its hook line or the rule of nft's error, on any line number, and leaves other places as nft wrote them", () => {
    const rules = Array.from({ length: 10 }, (_, index) => `tcp dport ${1000 + index} accept`);
    const args: NftTableArgs = { name: 'nat', chains: [{ name: 'in', hook: 'ingress', rules }] };
    // Line 1 is the table, 2 the chain, 3 its hook line, 4-13 the rules.
    const refusal = (line: string) => parseNftCanonical(['mode scratch', `/dev/stdin:${line}: Error: Could not process rule: No such file or directory`], 1);
    const planned = (line: string) => () => nftTableTask.plan(args, emptyFacts({ nftCanonical: { 'inet nat': refusal(line) } }));
    expect(planned('13:3-27')).toThrow('nft refuses the table: chains[0].rules[9]: Error: Could not process rule');
    expect(planned('3:3-53')).toThrow('nft refuses the table: chains[0]: Error: Could not process rule');
    expect(planned('2:2-11')).toThrow('nft refuses the table: chains[0]: Error: Could not process rule');
    expect(planned('1:1-16')).toThrow('nft refuses the table: /dev/stdin:1:1-16: Error: Could not process rule');
  });

  it('asks the host to read the wanted table only when the table is to be present, and lists that table', () => {
    const present = nftTableTask.facts({ name: 'nat', chains: [{ name: 'post', rules: ['accept'] }] });
    expect(present.nftTables).toEqual([{ family: 'inet', name: 'nat' }]);
    expect(present.nftCanonical).toEqual([{ family: 'inet', name: 'nat', text: 'table inet nat {\n\tchain post {\n\t\taccept\n\t}\n}' }]);
    const absent = nftTableTask.facts({ name: 'nat', state: 'absent' });
    expect(absent.nftTables).toEqual([{ family: 'inet', name: 'nat' }]);
    expect(absent.nftCanonical).toBeUndefined();
  });

  it('rejects a rule that tries to run a second command', () => {
    const problems = nftTableTask.check!({ name: 't', chains: [{ name: 'c', rules: ['accept; flush ruleset'] }] });
    expect(problems).toEqual([{ path: '/chains/0/rules/0', message: 'a rule must be one nft statement on one line' }]);
  });
});

describe('file', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  it('shows a unified diff and writes atomically', () => {
    const facts = emptyFacts({ files: { '/etc/x.conf': { path: '/etc/x.conf', exists: true, mode: '0644', owner: 'root', group: 'root', sha256: sha('a\n'), content: 'a\n' } } });
    const [change] = fileTask.plan({ path: '/etc/x.conf', content: 'b\n' }, facts);
    expect(change!.diff).toContain('-a\n+b');
    expect(steps([change!])[0]).toMatch(/^wgplay_stage \/etc\/x\.conf\numask 0022\nprintf '%s' 'b\n' > "\$wgplay_staged"/);
    expect(fileTask.plan({ path: '/etc/x.conf', content: 'a\n' }, facts)).toEqual([]);
  });

  it("writes a phase's files beside their place and renames each folder's at once (real bash)", () => {
    const root = mkdtempSync(join(tmpdir(), 'wgplay-files-'));
    try {
      const [a, b, c, secret] = ['etc/a.conf', 'etc/b.conf', 'var/c.json', 'etc/.hidden'].map((path) => join(root, path));
      mkdirSync(join(root, 'etc'));
      writeFileSync(a!, 'old a\n');
      // A staging folder an interrupted run left behind is replaced, not renamed into place.
      mkdirSync(join(root, 'etc', '.wgplay-stage'));
      writeFileSync(join(root, 'etc', '.wgplay-stage', 'stale.conf'), 'stale\n');
      const facts = emptyFacts({ files: { [a!]: { path: a!, exists: true, mode: '0644', owner: 'root', group: 'root', sha256: sha('old a\n'), content: 'old a\n' } } });
      const changes = [
        ...fileTask.plan({ path: a!, content: 'new a\n' }, facts),
        ...fileTask.plan({ path: b!, content: 'b\n', mode: '0640' }, facts),
        ...fileTask.plan({ path: c!, content: '{}\n', mode: '0755' }, facts),
        ...fileTask.plan({ path: secret!, content: 's\n', mode: '0600' }, facts),
      ];
      const script = compileApplyScript(changes);
      // Four files, one rename pass at the end of the phase.
      expect(script.match(/^wgplay_commit_staged$/gm)).toHaveLength(1);
      expect(script.indexOf('wgplay_stage')).toBeLessThan(script.indexOf('\nwgplay_commit_staged\n'));
      execFileSync('bash', ['-c', script]);
      expect([a, b, c, secret].map((path) => readFileSync(path!, 'utf8'))).toEqual(['new a\n', 'b\n', '{}\n', 's\n']);
      expect([a, b, c, secret].map((path) => (statSync(path!).mode & 0o7777).toString(8))).toEqual(['644', '640', '755', '600']);
      expect(readdirSync(join(root, 'etc')).sort()).toEqual(['.hidden', 'a.conf', 'b.conf']);
      expect(readdirSync(join(root, 'var'))).toEqual(['c.json']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('quotes hostile paths', () => {
    const [change] = fileTask.plan({ path: "/tmp/a'b $(reboot)", content: 'x' }, emptyFacts());
    expect(steps([change!])[0]).toContain(`'/tmp/a'\\''b $(reboot)'`);
  });
});

describe('sysctl', () => {
  it('sets the live value and persists it', () => {
    const facts = emptyFacts({ sysctls: { 'net.ipv4.ip_local_reserved_ports': '' } });
    const changes = sysctlTask.plan({ key: 'net.ipv4.ip_local_reserved_ports', value: '51820-51899' }, facts);
    expect(changes.map((c) => c.resource)).toEqual(['sysctl net.ipv4.ip_local_reserved_ports', 'file /etc/sysctl.d/90-wgplay-net.ipv4.ip_local_reserved_ports.conf']);
    expect(steps(changes)[0]).toBe('sysctl -q -w net.ipv4.ip_local_reserved_ports=51820-51899');
  });
});

describe('wireguard_interface', () => {
  const args: WireguardInterfaceArgs = {
    name: 'wg-a',
    addresses: ['10.200.200.1'],
    listen_port: 51821,
    table: 41,
    peers: [{ public_key: KEY_A, allowed_ips: ['10.0.0.1'] }],
  };
  const keyFact = { path: '/etc/wireguard/wg-a.key', exists: true, mode: '0600', wgPublicKey: KEY_C };

  it('generates the key on the host and creates the interface with its port set as it starts', () => {
    const changes = wireguardInterfaceTask.plan(args, emptyFacts());
    expect(changes.map((c) => c.resource)).toEqual([
      'wireguard private key /etc/wireguard/wg-a.key',
      'wireguard interface wg-a',
      'address 10.200.200.1/32 on wg-a',
      'link wg-a',
      `wireguard wg-a peer ${KEY_A}`,
      'ip route 10.0.0.1 dev wg-a table 41',
      'file /etc/wireguard/wg-a.conf',
      'systemd unit wg-quick@wg-a.service enabled (multi-user.target)',
    ]);
    const script = steps(changes).join('\n');
    expect(script).toContain('wgplay_new_keys+=("$wgplay_staged")');
    expect(script).toContain('wgplay_new_links+=(wg-a)');
    // Port, key and peers in one `wg set`, as the interface starts (after its daemon, on a TUN).
    expect(script).toContain(`wgplay_wg_up new wg-a - listen-port 51821 private-key /etc/wireguard/wg-a.key peer ${KEY_A} allowed-ips 10.0.0.1/32`);
    // The wg-quick file never holds the private key: the key file is referenced instead.
    const config = changes.find((c) => c.resource === 'file /etc/wireguard/wg-a.conf')!;
    expect(config.diff).toContain('+PostUp = wg set %i private-key /etc/wireguard/wg-a.key');
    expect(config.diff).not.toContain('PrivateKey');
  });

  it("generates every new key at once, as wg genkey does: 32 random bytes clamped for X25519, mode 0600 (real bash and wg)", () => {
    const root = mkdtempSync(join(tmpdir(), 'wgplay-keys-'));
    try {
      const keyFiles = ['a', 'b', 'c'].map((name) => join(root, 'wireguard', `wg-${name}.key`));
      const keyChanges = keyFiles.flatMap((file, index) =>
        wireguardInterfaceTask.plan({ ...args, name: `wg-${index}`, private_key_file: file }, emptyFacts()).filter((c) => c.resource.startsWith('wireguard private key')),
      );
      const script = compileApplyScript(keyChanges);
      expect(script.match(/^wgplay_genkeys$/gm)).toHaveLength(1);
      execFileSync('bash', ['-c', script]);
      const keys = keyFiles.map((file) => readFileSync(file, 'utf8'));
      expect(new Set(keys).size).toBe(3);
      expect(statSync(join(root, 'wireguard')).mode & 0o777).toBe(0o700);
      for (const [index, key] of keys.entries()) {
        expect(statSync(keyFiles[index]!).mode & 0o777).toBe(0o600);
        expect(key).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
        const bytes = Buffer.from(key, 'base64');
        expect(bytes).toHaveLength(32);
        expect([bytes[0]! & 7, bytes[31]! & 0xc0]).toEqual([0, 0x40]);
        // wg reads it as a private key.
        expect(execFileSync('wg', ['pubkey'], { input: key, encoding: 'utf8' })).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      }
      expect(readdirSync(join(root, 'wireguard')).sort()).toEqual(['wg-a.key', 'wg-b.key', 'wg-c.key']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('changes only what drifted, in place', () => {
    const facts = emptyFacts({
      links: [{ name: 'wg-a', kind: 'tun', up: true }],
      addresses: [{ dev: 'wg-a', family: 'inet', local: '10.200.200.1', prefixlen: 32 }],
      routes: [{ family: 'inet', dst: '10.0.0.1', dev: 'wg-a', table: '41' }],
      wg: {
        'wg-a': {
          name: 'wg-a',
          publicKey: KEY_C,
          listenPort: 51821,
          peers: [
            { publicKey: KEY_A, hasPresharedKey: false, allowedIps: ['10.0.0.1/32'], latestHandshake: 0, rxBytes: 0, txBytes: 0 },
            { publicKey: KEY_B, hasPresharedKey: false, allowedIps: ['10.0.0.9/32'], latestHandshake: 0, rxBytes: 0, txBytes: 0 },
          ],
        },
      },
      files: { '/etc/wireguard/wg-a.key': keyFact },
    });
    // Only the live state here (the boot files are tested in persist.test.ts).
    const changes = wireguardInterfaceTask.plan(args, facts).filter((c) => c.steps.every((step) => step.phase !== 'persist'));
    expect(changes.map((c) => c.diff)).toEqual([`- peer ${KEY_B} allowed-ips 10.0.0.9/32`]);
    expect(steps(changes)).toEqual([`wg set wg-a peer ${KEY_B} remove`]);
  });

  it('refuses to take over a non-WireGuard interface of the same name', () => {
    const facts = emptyFacts({ links: [{ name: 'wg-a', kind: 'veth', up: true }], files: { '/etc/wireguard/wg-a.key': keyFact } });
    expect(() => wireguardInterfaceTask.plan(args, facts)).toThrow(/not a WireGuard interface/);
  });

  it('converges on another spelling of an IPv6 address: no change once the host has it', () => {
    const spelled = { name: 'wg-a', persist: false, addresses: ['FD00:0:0:0::1/64'], peers: [{ public_key: KEY_A, allowed_ips: ['fd00:200:0:0::1', 'FD00:300::/64'] }] };
    expect(validate(wireguardInterfaceTask, spelled)).toEqual([]);
    expect(spelled.addresses).toEqual(['fd00::1/64']);
    expect(spelled.peers[0]!.allowed_ips).toEqual(['fd00:200::1/128', 'fd00:300::/64']);
    const facts = emptyFacts({
      links: [{ name: 'wg-a', kind: 'wireguard', up: true }],
      addresses: [{ dev: 'wg-a', family: 'inet6', local: 'fd00::1', prefixlen: 64 }],
      wg: { 'wg-a': { name: 'wg-a', publicKey: KEY_C, listenPort: 51821, peers: [{ publicKey: KEY_A, allowedIps: ['fd00:300::/64', 'fd00:200::1/128'] }] } },
      files: { '/etc/wireguard/wg-a.key': keyFact },
    });
    const resources = wireguardInterfaceTask.plan(spelled as WireguardInterfaceArgs, facts).map((c) => c.resource);
    expect(resources.filter((r) => !r.startsWith('file '))).toEqual([]);
  });

  it('refuses an allowed IP of ":::" and an endpoint port out of range', () => {
    const problems = validate(wireguardInterfaceTask, { name: 'wg-a', peers: [{ public_key: KEY_A, allowed_ips: [':::'], endpoint: '192.0.2.1:99999' }] });
    expect(problems).toEqual([
      { path: '/peers/0/allowed_ips/0', message: '":::" is not an IP address' },
      { path: '/peers/0/endpoint', message: '"192.0.2.1:99999" has port 99999, outside 1-65535' },
    ]);
  });

  it('validates names, keys and addresses', () => {
    const problems = validate(wireguardInterfaceTask, { name: 'wg-this-is-too-long', peers: [{ public_key: 'abc', allowed_ips: ['x'] }] });
    expect(problems.map((p) => p.path)).toEqual(['/name', '/peers/0/public_key', '/peers/0/allowed_ips/0']);
  });
});

describe('the apply script', () => {
  it('runs phases in order, with one ip -batch and one nft transaction', () => {
    const script = compileApplyScript([
      { resource: 'r', action: 'create', diff: '', steps: [{ kind: 'nft', phase: 'firewall', line: 'add element inet t s { 1 }', stage: 'element additions' }] },
      { resource: 'r', action: 'create', diff: '', steps: [{ kind: 'ip', phase: 'routing', line: 'rule add from 10.0.0.1 table 41' }] },
      { resource: 'r', action: 'create', diff: '', steps: [{ kind: 'nft', phase: 'firewall', line: 'add table inet t', stage: 'tables' }] },
      { resource: 'r', action: 'create', diff: '', steps: [{ kind: 'ip', phase: 'routing', line: 'route replace 10.0.0.1 dev wg-a table 41' }] },
      { resource: 'r', action: 'create', diff: '', steps: [{ kind: 'shell', phase: 'links', script: 'echo link' }] },
    ]);
    expect(script.match(/^ip -batch /gm)).toHaveLength(1);
    expect(script.match(/^nft -f /gm)).toHaveLength(1);
    expect(script.indexOf('echo link')).toBeLessThan(script.indexOf('\nip -batch'));
    expect(script.indexOf('add table inet t')).toBeLessThan(script.indexOf('add element'));
    expect(lastPhase("@@wgplay-phase links\n@@wgplay-phase routing\n")).toBe('routing');
    expect(lastPhase('@@wgplay-phase links 1764600000.100000\n@@wgplay-phase routing 1764600000.350000\n')).toBe('routing');
    // What each phase took, from the host's clock in the markers: only for a script that finished.
    const timed = '@@wgplay-phase links 1764600000.100000\n@@wgplay-phase routing 1764600000.350000\n@@wgplay-phase done 1764600001.350000\n';
    expect(phaseSeconds(timed)).toEqual({ links: 0.25, routing: 1 });
    expect(phaseSeconds(timed.split('\n').slice(0, 2).join('\n'))).toBeUndefined();
    expect(phaseSeconds('@@wgplay-phase links \n@@wgplay-phase done \n')).toBeUndefined();
  });
});

describe('missing tools', () => {
  it('says which program a task needs instead of failing halfway through the apply', () => {
    const facts = emptyFacts({ programs: { wg: false, nft: false, ip: true } });
    expect(() => wireguardInterfaceTask.plan({ name: 'wg-a' }, facts)).toThrow('wireguard-tools (the `wg` program) is not installed on this host');
    expect(() => nftTableTask.plan({ name: 't' }, facts)).toThrow('nftables (the `nft` program) is not installed on this host');
    expect(() => nftElementTask.plan({ table: 't', set: 's', key: 1 }, facts)).toThrow(/nftables/);
  });
});

describe('secret files', () => {
  const key = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
  it('never shows a file that holds a private key: only that its content differs', () => {
    // A host file the fact script found holding a key (its content was not sent).
    const held = fileTask.plan({ path: '/etc/wireguard/other.conf', content: '[Interface]\n' }, emptyFacts({ files: { '/etc/wireguard/other.conf': { path: '/etc/wireguard/other.conf', exists: true, mode: '0644', owner: 'root', group: 'root', sha256: 'x', holdsKey: true } } }));
    expect(held.map((c) => c.diff)).toEqual(['~ /etc/wireguard/other.conf: content differs (secret)']);
    // Content that holds a key is secret even unmarked, and is not read back.
    const written = fileTask.plan({ path: '/etc/x.conf', content: `PrivateKey = ${key}\n` }, emptyFacts());
    expect(written.map((c) => c.diff)).toEqual(['+ /etc/x.conf: content (secret, not shown)']);
    expect(fileTask.facts({ path: '/etc/x.conf', content: `PrivateKey = ${key}\n` })).toMatchObject({ files: [{ secret: true }] });
  });

  it('refuses content with a NUL byte', () => {
    expect(validate(fileTask, { path: '/etc/x', content: 'a\u0000b' })).toEqual([{ path: '/content', message: 'content holds a NUL byte (at character 1): a file wgplay writes is text' }]);
    expect(validate(fileTask, { path: '/etc/x', content: '\u0000b' })).toEqual([{ path: '/content', message: 'content holds a NUL byte (at character 0): a file wgplay writes is text' }]);
  });
});

describe('a table or destination written as ip does not print it converges', () => {
  it('ip_rule with table 254 is the rule ip lists with table main', () => {
    const facts = { ...emptyFacts(), rules: [{ family: 'inet' as const, priority: 100, from: '10.0.0.1', table: 'main' }] };
    expect(ipRuleTask.plan({ from: '10.0.0.1', table: 254, priority: 100 }, facts)).toEqual([]);
  });

  it('ip_route to 0.0.0.0/0 in table 254 is the route ip lists as default in main', () => {
    const facts = { ...emptyFacts(), routes: [{ family: 'inet' as const, dst: 'default', gateway: '10.0.0.1', table: 'main' }] };
    expect(ipRouteTask.plan({ to: '0.0.0.0/0', via: '10.0.0.1', table: 254 }, facts)).toEqual([]);
    expect(ipRouteTask.plan({ to: 'default', via: '10.0.0.1' }, facts)).toEqual([]);
  });
});
