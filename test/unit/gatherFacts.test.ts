// What facts a host is asked for (src/engine/run.ts gatherFacts): the verify asks again
// what the plan asked, and a gathering that does not answer everything the tasks need
// once they have seen the facts is followed by a second one that does (planning on a
// fact that was never read would plan against "nothing there"). Through the fake host:
// every fact script it is sent is recorded.
import { describe, expect, it } from 'vitest';
import { gatherFacts } from '../../src/engine/run.js';
import type { FactRequest, FileRequest } from '../../src/facts/types.js';
import { EMPTY, FakeHost, tasks } from './fakeHost.js';

const invocations = tasks(
  ['wireguard_interface', { name: 'wg-a', addresses: ['10.200.200.1'], listen_port: 51821 }],
  ['sysctl', { key: 'net.ipv4.ip_forward', value: 1, persist: true }],
  ['nft_table', { name: 'wgplay_filter', sets: [{ name: 'wg_ports', type: 'inet_service' }] }],
  ['file', { path: '/etc/x', content: 'x\n' }],
);

/** What these tasks ask of the empty host, as the first gathering asked it. */
async function fullRequest(): Promise<FactRequest> {
  const { request } = await gatherFacts(new FakeHost(EMPTY), invocations);
  return structuredClone(request);
}

/** The fact scripts sent for `request` (the verify's case: an earlier gathering's request). */
async function gatheringsFor(request: FactRequest): Promise<string[]> {
  const host = new FakeHost(EMPTY);
  await gatherFacts(host, invocations, { request });
  return host.sent.filter((sent) => sent.kind === 'facts').map((sent) => sent.script);
}

const editFile = (request: FactRequest, path: string, edit: (file: FileRequest) => FileRequest | undefined): FactRequest => ({
  ...request,
  files: request.files!.flatMap((file) => (file.path === path ? [edit(file)].filter((f) => f !== undefined) : [file])),
});

describe('gatherFacts', () => {
  it('asks once when the request answers every task: the same request again, or one reading more', async () => {
    const full = await fullRequest();
    expect(await gatheringsFor(full)).toHaveLength(1);
    // Content read in full (no checksum to compare against) answers a checksum's question.
    expect(await gatheringsFor(editFile(full, '/etc/x', ({ expectSha256: _, ...file }) => file))).toHaveLength(1);
    // A file read in full answers a stat.
    expect(await gatheringsFor(editFile(full, '/lib/systemd/system/wg-quick@.service', (file) => ({ ...file, statOnly: false })))).toHaveLength(1);
    // Counting every inotify instance answers counting them only when an interface is missing.
    expect(await gatheringsFor({ ...full, inotify: true })).toHaveLength(1);
    expect(await gatheringsFor({ ...full, inotify: { ifMissing: ['wg-z', 'wg-a'] } })).toHaveLength(1);
  });

  it('asks a second time, for what was missing, when the request left out anything a task reads', async () => {
    const full = await fullRequest();
    const missing: [string, FactRequest, string][] = [
      ['a file', editFile(full, '/etc/x', () => undefined), '/etc/x'],
      ["a key file's interface", editFile(full, '/etc/wireguard/wg-a.key', ({ wgInterface: _, ...file }) => file), 'wg-a'],
      ['a file known by another checksum', editFile(full, '/etc/x', (file) => ({ ...file, expectSha256: '0'.repeat(64) })), '/etc/x'],
      ['a file only stat-ed whose content is read', editFile(full, '/etc/wireguard/wg-a.conf', (file) => ({ ...file, statOnly: true })), '/etc/wireguard/wg-a.conf'],
      ['a sysctl', { ...full, sysctls: full.sysctls!.filter((key) => key !== 'net.ipv4.ip_forward') }, 'net.ipv4.ip_forward'],
      ['the inotify count', { ...full, inotify: undefined }, 'inotify_facts'],
      ['the inotify count for this interface', { ...full, inotify: { ifMissing: ['wg-z'] } }, 'inotify_facts'],
      ["a table's boot file", { ...full, nftBootFiles: [] }, 'wgplay_filter'],
      ['nft\'s reading of a table', { ...full, nftCanonical: [] }, 'wgplay_filter'],
      ["nft's reading of another text of the table", { ...full, nftCanonical: full.nftCanonical!.map((t) => ({ ...t, text: `${t.text}\n` })) }, 'set wg_ports'],
      ["nft's reading of another family's table", { ...full, nftCanonical: full.nftCanonical!.map((t) => ({ ...t, family: 'ip' })) }, 'set wg_ports'],
      ["nft's reading of another table", { ...full, nftCanonical: full.nftCanonical!.map((t) => ({ ...t, name: 'other' })) }, 'set wg_ports'],
    ];
    for (const [what, request, asked] of missing) {
      const scripts = await gatheringsFor(request);
      expect(scripts, what).toHaveLength(2);
      expect(scripts[1], what).toContain(asked);
    }
  });

  it('asks for what the caller wants beyond the tasks (a key\'s public key for customer-config) in the first gathering', async () => {
    const host = new FakeHost(EMPTY);
    const { request } = await gatherFacts(host, invocations, { extra: { files: [{ path: '/etc/wireguard/wg-b.key', wgKey: true }], sysctls: ['net.core.somaxconn'] } });
    expect(host.count('facts')).toBe(1);
    expect(host.sent[0]!.script).toContain('/etc/wireguard/wg-b.key');
    expect(host.sent[0]!.script).toContain('net.core.somaxconn');
    expect(request.files).toContainEqual(expect.objectContaining({ path: '/etc/wireguard/wg-b.key', wgKey: true }));
  });

  it('refuses to gather over SSH from a host that does not say which SSH connection is wgplay\'s', async () => {
    await expect(gatherFacts(new FakeHost(EMPTY), invocations, { overSsh: true })).rejects.toThrow(
      'the host did not report its end of the SSH connection (SSH_CONNECTION is empty): wgplay cannot check that the changes keep its SSH path open, so it changes nothing',
    );
    await expect(gatherFacts(new FakeHost(EMPTY), invocations, { overSsh: false })).resolves.toMatchObject({ connection: undefined });
  });
});
