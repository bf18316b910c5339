// Tasks built in code (wgplay as a library) get the same validation as a playbook's,
// before any command reaches the host.
import { describe, expect, it } from 'vitest';
import { WgplayError } from '../../src/errors.js';
import { runHost, type ScriptRunner } from '../../src/engine/run.js';
import '../../src/tasks/index.js';
import '../../src/modules/index.js';

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';

/** A runner that records what would have been sent to the host. */
function recordingRunner(): ScriptRunner & { scripts: string[] } {
  const scripts: string[] = [];
  return {
    scripts,
    async run(script) {
      scripts.push(script);
      return { stdout: '', stderr: '', code: 1 };
    },
  };
}

async function refusal(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WgplayError);
  return (error as WgplayError).problems.map((p) => `${p.where}: ${p.message}`);
}

describe('a task built in code', () => {
  it('is refused with the YAML message and a JSON pointer, and nothing is sent to the host', async () => {
    const runner = recordingRunner();
    const problems = await refusal(runHost('gw', runner, [{ name: 'bad table', module: 'nft_table', args: { table: 'x;reboot', name: 'ok' } }], { apply: true }));
    expect(problems).toEqual([
      'task "bad table", nft_table arguments /table: additional property "table" is not allowed; allowed: family, name, state, persist, sets, maps, chains',
    ]);
    const named = await refusal(runHost('gw', runner, [{ name: 'bad name', module: 'nft_table', args: { name: 'x;reboot' } }], { apply: true }));
    expect(named).toEqual(['task "bad name", nft_table arguments /name: must match the pattern ^[A-Za-z][A-Za-z0-9_]{0,31}$ (got "x;reboot")']);
    const element = await refusal(runHost('gw', runner, [{ name: 'e', module: 'nft_element', args: { table: 'x;reboot', set: 's', key: 1 } }], { apply: true }));
    expect(element).toEqual(['task "e", nft_element arguments /table: must match the pattern ^[A-Za-z][A-Za-z0-9_]{0,31}$ (got "x;reboot")']);
    expect(runner.scripts).toEqual([]);
  });

  it('gets canonical values without its own object being changed', async () => {
    const runner = recordingRunner();
    const args = { from: 'FD00:0::1', table: 41 };
    await runHost('gw', runner, [{ name: 'rule', module: 'ip_rule', args }], { apply: false }).catch(() => undefined);
    expect(args).toEqual({ from: 'FD00:0::1', table: 41 });
    const unknown = await refusal(runHost('gw', runner, [{ name: 'x', module: 'nft_tabel', args: {} }], { apply: false }));
    expect(unknown).toEqual(['task "x": unknown module "nft_tabel" (did you mean "nft_table"?)']);
  });

  it('has endpoint names resolved on the controller through the lookup it is given, or refused', async () => {
    const runner = recordingRunner();
    const peer = (endpoint: string) => [
      { name: 'tunnel', module: 'wireguard_interface', args: { name: 'wg-a', peers: [{ public_key: KEY_A, allowed_ips: ['10.0.0.1'], endpoint }] } },
    ];
    const lookup = async (name: string) => (name === 'peer.test' ? ['198.51.100.4'] : []);
    const problems = await refusal(runHost('gw', runner, peer('nowhere.test:51820'), { apply: true, resolve: { lookup } }));
    expect(problems).toEqual([
      'task "tunnel", wireguard_interface arguments /peers/0/endpoint: endpoint "nowhere.test:51820": the name nowhere.test resolves to no address a peer can have (none)',
    ]);
    expect(runner.scripts).toEqual([]);
    // A name that resolves: the host is asked for its facts (this fake host fails them).
    const result = await runHost('gw', runner, peer('peer.test:51820'), { apply: true, resolve: { lookup } }).catch((e: Error) => e.message);
    expect(String(result)).toMatch(/gathering facts failed/);
    expect(runner.scripts).toHaveLength(1);
  });
});
