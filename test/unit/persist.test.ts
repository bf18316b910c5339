// What comes back at boot: wg-quick files and enabled units, nftables boot files and
// their units, sysctl.d files; all in the apply script's last phase ("persist").
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileApplyScript } from '../../src/engine/compile.js';
import { planTasks } from '../../src/engine/run.js';
import { validateArgs } from '../../src/playbook/validate.js';
import { blankFacts } from '../../src/facts/blankFacts.js';
import { buildFactScript } from '../../src/facts/factScript.js';
import { parseFileSection, parseNftBootSection } from '../../src/facts/parse.js';
import { parseFacts } from '../../src/facts/parseFacts.js';
import type { FileFact, HostFacts, NftTableFact } from '../../src/facts/types.js';
import { nftElementTask as nftElementContract } from '../../src/tasks/nftElement.js';
import { renderNftBootUnit } from '../../src/tasks/nftPersist.js';
import { nftTableTask as nftTableContract, type NftTableArgs } from '../../src/tasks/nftTable.js';
import { sha256 } from '../../src/tasks/shared/files.js';
import { sysctlTask as sysctlContract } from '../../src/tasks/sysctl.js';
import type { Change } from '../../src/tasks/types.js';
import { renderWgQuickConfig, wireguardInterfaceTask as wireguardInterfaceContract, type WireguardInterfaceArgs } from '../../src/tasks/wireguardInterface.js';
import { validatedTask } from './validatedTask.js';

const nftElementTask = validatedTask(nftElementContract);
const nftTableTask = validatedTask(nftTableContract);
const sysctlTask = validatedTask(sysctlContract);
const wireguardInterfaceTask = validatedTask(wireguardInterfaceContract);

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';
const KEY_C = 'jUd41n3XYa3yXBzyBvWqlLhYgRef5RiBD7jwo70U+Rw=';
const TEMPLATE = '/lib/systemd/system/wg-quick@.service';
const LINK_A = '/etc/systemd/system/multi-user.target.wants/wg-quick@wg-a.service';
const resources = (changes: Change[]) => changes.map((change) => change.resource);
const bootChanges = (changes: Change[]) => changes.filter((change) => change.steps.some((step) => step.phase === 'persist'));
const file = (path: string, more: Partial<FileFact> = {}): FileFact => ({ path, exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root', ...more });

describe('wireguard_interface: the wg-quick file and wg-quick@NAME.service', () => {
  const args: WireguardInterfaceArgs = { name: 'wg-a', addresses: ['10.200.200.1'], listen_port: 51821, table: 41, peers: [{ public_key: KEY_A, allowed_ips: ['10.0.0.1'] }] };
  /** A host where the interface is live and matches. */
  const liveFacts = (files: Record<string, FileFact>): HostFacts =>
    blankFacts({
      links: [{ name: 'wg-a', kind: 'tun', up: true }],
      addresses: [{ dev: 'wg-a', family: 'inet', local: '10.200.200.1', prefixlen: 32 }],
      routes: [{ family: 'inet', dst: '10.0.0.1', dev: 'wg-a', table: '41' }],
      wg: { 'wg-a': { name: 'wg-a', publicKey: KEY_C, listenPort: 51821, peers: [{ publicKey: KEY_A, hasPresharedKey: false, allowedIps: ['10.0.0.1/32'], latestHandshake: 0, rxBytes: 0, txBytes: 0 }] } },
      files: { '/etc/wireguard/wg-a.key': file('/etc/wireguard/wg-a.key', { mode: '0600', wgKeyMatchesInterface: true }), ...files },
    });
  const config = file('/etc/wireguard/wg-a.conf', { mode: '0600', sha256: sha256(renderWgQuickConfig({ ...args, state: 'present', generate_key: true, persist: true })) });

  it('writes the file and enables the unit as `systemctl enable` does, in the persist phase', () => {
    const changes = bootChanges(wireguardInterfaceTask.plan(args, liveFacts({})));
    expect(resources(changes)).toEqual(['file /etc/wireguard/wg-a.conf', 'systemd unit wg-quick@wg-a.service enabled (multi-user.target)']);
    const script = compileApplyScript(changes);
    // The link is made beside its place and renamed into it with the phase's other files, before systemd is told.
    expect(script).toContain(`wgplay_stage ${LINK_A}\nln -sfn -- ${TEMPLATE} "$wgplay_staged"`);
    expect(script.indexOf(`ln -sfn -- ${TEMPLATE}`)).toBeLessThan(script.lastIndexOf('\nwgplay_commit_staged\n'));
    expect(script.lastIndexOf('\nwgplay_commit_staged\n')).toBeLessThan(script.indexOf('systemctl daemon-reload'));
    // Where systemd runs, it is told; where it does not (a namespace, a container), the link alone is enough.
    expect(script).toContain('if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi');
    expect(script.indexOf('@@wgplay-phase persist')).toBeGreaterThan(script.indexOf('@@wgplay-phase links'));
  });

  it('leaves an enabled unit alone, and re-links one disabled or pointing elsewhere', () => {
    expect(wireguardInterfaceTask.plan(args, liveFacts({ '/etc/wireguard/wg-a.conf': config, [LINK_A]: file(LINK_A, { linkTarget: TEMPLATE }) }))).toEqual([]);
    const usrLib = file(LINK_A, { linkTarget: '/usr/lib/systemd/system/wg-quick@.service' });
    expect(wireguardInterfaceTask.plan(args, liveFacts({ '/etc/wireguard/wg-a.conf': config, [LINK_A]: usrLib }))).toEqual([]);
    const masked = wireguardInterfaceTask.plan(args, liveFacts({ '/etc/wireguard/wg-a.conf': config, [LINK_A]: file(LINK_A, { linkTarget: '/dev/null' }) }));
    expect(masked.map((change) => change.diff)).toEqual([`+ ${LINK_A} -> ${TEMPLATE} (was -> /dev/null)`]);
  });

  it('persist: false and state: absent leave nothing for the next boot', () => {
    const present = { '/etc/wireguard/wg-a.conf': config, [LINK_A]: file(LINK_A, { linkTarget: TEMPLATE }) };
    const notPersisted = wireguardInterfaceTask.plan({ ...args, persist: false }, liveFacts(present));
    expect(notPersisted.map((change) => change.diff)).toEqual([`- ${LINK_A} -> ${TEMPLATE}`, '- /etc/wireguard/wg-a.conf']);
    const absent = wireguardInterfaceTask.plan({ name: 'wg-a', state: 'absent' }, liveFacts(present));
    expect(resources(absent)).toEqual([
      'wireguard interface wg-a',
      'systemd unit wg-quick@wg-a.service enabled (multi-user.target)',
      'file /etc/wireguard/wg-a.conf',
      'file /etc/wireguard/wg-a.key',
    ]);
  });

  it('needs wg-quick; links to where the host has its unit, to Debian\'s place when it has none', () => {
    expect(() => wireguardInterfaceTask.plan(args, { ...liveFacts({}), programs: { wg: true, ip: true, 'wg-quick': false } })).toThrow('wireguard-tools (the `wg-quick` program) is not installed');
    expect(() => wireguardInterfaceTask.plan({ ...args, persist: false }, { ...liveFacts({}), programs: { wg: true, ip: true, 'wg-quick': false } })).not.toThrow();
    const usrLib = '/usr/lib/systemd/system/wg-quick@.service';
    const onlyUsrLib = liveFacts({ [TEMPLATE]: { path: TEMPLATE, exists: false }, [usrLib]: file(usrLib) });
    expect(wireguardInterfaceTask.plan(args, onlyUsrLib).find((change) => change.resource.startsWith('systemd'))!.diff).toBe(`+ ${LINK_A} -> ${usrLib}`);
    const none = liveFacts({ [TEMPLATE]: { path: TEMPLATE, exists: false } });
    expect(wireguardInterfaceTask.plan(args, none).find((change) => change.resource.startsWith('systemd'))!.diff).toBe(`+ ${LINK_A} -> ${TEMPLATE}`);
  });
});

describe('nft_table: the boot file and its unit', () => {
  const spec: NftTableArgs = { name: 'wgplay_nat', maps: [{ name: 'inbound_dnat', type: 'ifname', value_type: 'ipv4_addr' }] };
  const live: NftTableFact = {
    family: 'inet',
    name: 'wgplay_nat',
    chains: [],
    sets: [{ kind: 'map', name: 'inbound_dnat', keyType: 'ifname', valueType: 'ipv4_addr', flags: [], elements: [{ key: 'wg-a', value: '10.200.200.1' }] }],
  };
  const BOOT = '/etc/wgplay/nftables/inet-wgplay_nat.nft';
  const UNIT = '/etc/systemd/system/wgplay-nft-inet-wgplay_nat.service';
  const LINK = '/etc/systemd/system/sysinit.target.wants/wgplay-nft-inet-wgplay_nat.service';
  const unitAndLink = {
    [UNIT]: file(UNIT, { sha256: sha256(renderNftBootUnit({ family: 'inet', name: 'wgplay_nat' })) }),
    [LINK]: file(LINK, { linkTarget: UNIT }),
  };

  it('a new table is dumped to its boot file after the firewall phase, loaded early at boot by its own unit', () => {
    const changes = nftTableTask.plan(spec, blankFacts());
    expect(resources(changes)).toEqual([
      'nft table inet wgplay_nat',
      `nft boot file ${BOOT}`,
      `file ${UNIT}`,
      'systemd unit wgplay-nft-inet-wgplay_nat.service enabled (sysinit.target)',
    ]);
    const script = compileApplyScript(changes);
    expect(script).toContain(`nft -s list table inet wgplay_nat < /dev/null; } > ${BOOT}.wgplay-tmp`);
    expect(script.indexOf('nft -s list table')).toBeGreaterThan(script.indexOf('nft -f -'));
    const unit = renderNftBootUnit({ family: 'inet', name: 'wgplay_nat' });
    expect(unit).toContain(`ExecStart=/usr/sbin/nft -f ${BOOT}`);
    expect(unit).toMatch(/DefaultDependencies=no\nWants=network-pre.target\nBefore=network-pre.target\nAfter=nftables.service/);
    expect(unit).toContain('WantedBy=sysinit.target');
  });

  it('a boot file that matches the live table is left alone; one that differs is shown and rewritten', () => {
    const matching = blankFacts({ nftTables: [live], files: unitAndLink, nftBootFiles: { 'inet wgplay_nat': { path: BOOT, exists: true, live: true, matchesLive: true } } });
    expect(nftTableTask.plan(spec, matching)).toEqual([]);
    const edited = blankFacts({
      nftTables: [live],
      files: unitAndLink,
      nftBootFiles: { 'inet wgplay_nat': { path: BOOT, exists: true, live: true, matchesLive: false, content: 'x "wg-a" : 10.200.200.9', liveContent: 'x "wg-a" : 10.200.200.1' } },
    });
    const [change] = nftTableTask.plan(spec, edited);
    expect(change!.resource).toBe(`nft boot file ${BOOT}`);
    expect(change!.diff).toContain('-x "wg-a" : 10.200.200.9\n+x "wg-a" : 10.200.200.1');
    expect(change!.steps.map((step) => step.phase)).toEqual(['persist']);
  });

  it('persist: false removes the link, the unit and the boot file (after any rewrite of it)', () => {
    const facts = blankFacts({ nftTables: [live], files: unitAndLink, nftBootFiles: { 'inet wgplay_nat': { path: BOOT, exists: true, live: true, matchesLive: true } } });
    const changes = nftTableTask.plan({ ...spec, persist: false }, facts);
    expect(changes.map((change) => `${change.action} ${change.resource}`)).toEqual([
      'delete systemd unit wgplay-nft-inet-wgplay_nat.service enabled (sysinit.target)',
      `delete file ${UNIT}`,
      `delete nft boot file ${BOOT}`,
    ]);
    // An element changed in the same run wants the boot file rewritten: the removal still wins.
    const element = nftElementTask.plan({ table: 'wgplay_nat', set: 'inbound_dnat', key: 'wg-b', value: '10.200.200.2' }, facts);
    const script = compileApplyScript([...element, ...changes]);
    expect(script.lastIndexOf(`rm -f -- ${BOOT}`)).toBeGreaterThan(script.indexOf('nft -s list table'));
  });

  it('an element changed in a persisted table has the boot file rewritten once, whatever the number of elements', () => {
    const facts = blankFacts({ nftTables: [live], nftBootFiles: { 'inet wgplay_nat': { path: BOOT, exists: true, live: true, matchesLive: true } } });
    const changes = ['wg-b', 'wg-c', 'wg-d'].flatMap((key, index) => nftElementTask.plan({ table: 'wgplay_nat', set: 'inbound_dnat', key, value: `10.200.200.${index + 2}` }, facts));
    expect(changes).toHaveLength(3);
    const script = compileApplyScript(changes);
    expect(script.match(/nft -s list table inet wgplay_nat/g)).toHaveLength(1);
    // Not persisted by wgplay (no boot file): no boot file appears.
    const unmanaged = nftElementTask.plan({ table: 'wgplay_nat', set: 'inbound_dnat', key: 'wg-b', value: '10.200.200.2' }, blankFacts({ nftTables: [live] }));
    expect(compileApplyScript(unmanaged)).not.toContain('nft -s list table');
  });
});

describe('a boot file that differs because an element drifted', () => {
  it('is not reported apart: the element change rewrites it (and says what happens)', () => {
    const BOOT = '/etc/wgplay/nftables/inet-wgplay_nat.nft';
    const live: NftTableFact = { family: 'inet', name: 'wgplay_nat', chains: [], sets: [{ kind: 'map', name: 'inbound_dnat', keyType: 'ifname', valueType: 'ipv4_addr', flags: [], elements: [] }] };
    const unit = '/etc/systemd/system/wgplay-nft-inet-wgplay_nat.service';
    const link = '/etc/systemd/system/sysinit.target.wants/wgplay-nft-inet-wgplay_nat.service';
    const facts = blankFacts({
      nftTables: [live],
      files: { [unit]: file(unit, { sha256: sha256(renderNftBootUnit(live)) }), [link]: file(link, { linkTarget: unit }) },
      // Someone deleted wg-a's element by hand: the boot file (still right) differs from the live table.
      nftBootFiles: { 'inet wgplay_nat': { path: BOOT, exists: true, live: true, matchesLive: false, content: '"wg-a" : 10.200.200.1', liveContent: '' } },
    });
    const invocation = (module: string, args: Record<string, unknown>) => {
      validateArgs(module, (module === 'nft_table' ? nftTableContract : nftElementContract).schema, undefined, args);
      return { invocation: { name: module, module, args }, module: module === 'nft_table' ? nftTableContract : nftElementContract };
    };
    const table = invocation('nft_table', { name: 'wgplay_nat', maps: [{ name: 'inbound_dnat', type: 'ifname', value_type: 'ipv4_addr' }] });
    const element = invocation('nft_element', { table: 'wgplay_nat', set: 'inbound_dnat', key: 'wg-a', value: '10.200.200.1' });
    expect(planTasks([table], facts).flatMap((task) => task.changes.map((change) => change.resource))).toEqual([`nft boot file ${BOOT}`]);
    const both = planTasks([table, element], facts);
    expect(both.flatMap((task) => task.changes.map((change) => change.resource))).toEqual(['nft element inet wgplay_nat inbound_dnat wg-a']);
    expect(compileApplyScript(both.flatMap((task) => task.changes))).toContain(`> ${BOOT}.wgplay-tmp`);
  });
});

describe('sysctl: the sysctl.d file is a boot file', () => {
  it('is written in the persist phase, the live value in prepare', () => {
    const changes = sysctlTask.plan({ key: 'net.ipv4.ip_local_reserved_ports', value: '51820-51899' }, blankFacts());
    expect(changes.map((change) => change.steps.map((step) => step.phase).join())).toEqual(['prepare', 'persist,persist']);
  });
});

describe('sysctl: what the task reads', () => {
  // The real fact script, run by bash on this machine: it only reads (/proc/sys, /etc/sysctl.d).
  const gathered = (args: unknown) => parseFacts(execFileSync('bash', ['-s'], { input: buildFactScript(sysctlTask.facts(args)) }).toString());

  it('reads the live value of its key, and its sysctl.d file only when persisted', () => {
    const live = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const persisted = gathered({ key: 'net.ipv4.ip_forward', value: 1 });
    expect(persisted.sysctls['net.ipv4.ip_forward']).toBe(live);
    expect(persisted.files['/etc/sysctl.d/90-wgplay-net.ipv4.ip_forward.conf']).toBeDefined();
    const liveOnly = gathered({ key: 'net.ipv4.ip_forward', value: 1, persist: false });
    expect(liveOnly.sysctls['net.ipv4.ip_forward']).toBe(live);
    expect(Object.keys(liveOnly.files)).toEqual([]);
  });
});

describe('facts for persistence', () => {
  it('reads symbolic links and boot-file sections', () => {
    expect(parseFileSection('/l', ['link /lib/systemd/system/wg-quick@.service', 'type file', 'mode 777'])).toMatchObject({ exists: true, linkTarget: '/lib/systemd/system/wg-quick@.service' });
    expect(parseFileSection('/l', ['link /nowhere', 'type other'])).toEqual({ path: '/l', exists: true, type: 'other', linkTarget: '/nowhere' });
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    expect(parseNftBootSection('inet wgplay_nat', ['live present', 'file present', 'matches no', 'file-content', b64('old\n'), 'live-content', b64('new\n')])).toEqual({
      path: '/etc/wgplay/nftables/inet-wgplay_nat.nft',
      exists: true,
      live: true,
      matchesLive: false,
      content: 'old\n',
      liveContent: 'new\n',
    });
    expect(parseNftBootSection('inet t', ['live missing', 'file missing'])).toEqual({ path: '/etc/wgplay/nftables/inet-t.nft', exists: false, live: false, matchesLive: false });
  });

  it('asks the host about each persisted table once, in the one fact script', () => {
    const script = buildFactScript({ nftBootFiles: [{ family: 'inet', name: 'wgplay_nat' }, { family: 'inet', name: 'wgplay_nat' }] });
    expect(script.match(/@@wgplay nft-boot/g)).toHaveLength(1);
    expect(script).toContain("if [ -f /etc/wgplay/nftables/inet-wgplay_nat.nft ]; then");
  });
});
