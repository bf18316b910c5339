// Invalid nft is refused on the controller (nft -c in a throwaway network namespace)
// before any host is contacted: the inventory's only host is a loopback listener that
// counts connections, so a check that waited for the host would be seen. Needs nft and
// unshare on this machine (scripts/install-deps.sh installs them).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wgplay, writePlaybook } from './wgplayCli.js';

let server: Server;
let connections = 0;
let port = 0;

const rootRuleset = () => execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });

function playbookWithRule(rule: string): { playbook: string; inventory: string } {
  const playbook = writePlaybook([
    {
      name: 'nft on the controller',
      hosts: 'all',
      tasks: [{ name: 'a table', nft_table: { name: 'wgplay_e2e_controller_check', chains: [{ name: 'c', rules: ['tcp dport 22 accept', rule] }] } }],
    },
  ]);
  const inventory = join(dirname(playbook), 'inventory.yaml');
  const key = join(dirname(playbook), 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  writeFileSync(inventory, `all:\n  hosts:\n    counted:\n      ansible_host: 127.0.0.1\n      ansible_port: ${port}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${key}\n`);
  return { playbook, inventory };
}

describe('invalid nft refused on the controller', () => {
  beforeAll(async () => {
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('validate and plan name the task and nft\'s message; no host is contacted and the controller\'s ruleset is untouched', async () => {
    const before = rootRuleset();
    const { playbook, inventory } = playbookWithRule('oifname veth-e0 masquerad');
    for (const command of ['validate', 'plan']) {
      const result = await wgplay([command, playbook, '-i', inventory]);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(
        /playbook\.yaml:\d+:\d+: task "a table", nft_table inet wgplay_e2e_controller_check: nft refuses the table: chains\[0\]\.rules\[1\]: Error: syntax error, unexpected newline/,
      );
      expect(result.stderr).toContain('oifname veth-e0 masquerad');
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(connections).toBe(0);
    expect(rootRuleset()).toBe(before);
  });

  it('lets valid nft through to the host (which this listener is not: plan fails there)', async () => {
    const before = rootRuleset();
    const { playbook, inventory } = playbookWithRule('oifname "veth-e0" masquerade');
    const validated = await wgplay(['validate', playbook, '-i', inventory]);
    expect(validated.code, validated.stderr).toBe(0);
    expect(connections).toBe(0);
    const planned = await wgplay(['plan', playbook, '-i', inventory]);
    expect(planned.stderr + planned.stdout).not.toContain('nft refuses');
    expect(connections).toBeGreaterThan(0);
    expect(rootRuleset()).toBe(before);
  });

  it('spawns no nft for a text this nft accepted before (the user\'s cache), but does for a refused one and for another nft binary', async () => {
    // A real nft behind a wrapper that logs each time it is run.
    const dir = mkdtempSync(join(tmpdir(), 'wgplay-nft-cache-'));
    const log = join(dir, 'nft.log');
    const wrapper = join(dir, 'nft');
    const realNft = execFileSync('bash', ['-c', 'command -v nft'], { encoding: 'utf8' }).trim();
    writeFileSync(wrapper, `#!/bin/sh\necho run >> ${log}\nexec ${realNft} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const env = { XDG_CACHE_HOME: join(dir, 'cache'), PATH: `${dir}:${process.env.PATH}` };
    const runs = () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length;
    const connected = connections;

    const valid = playbookWithRule('oifname "veth-e1" masquerade');
    expect((await wgplay(['validate', valid.playbook, '-i', valid.inventory], env)).code).toBe(0);
    const first = runs();
    expect(first).toBeGreaterThan(0);
    expect((await wgplay(['validate', valid.playbook, '-i', valid.inventory], env)).code).toBe(0);
    expect(runs()).toBe(first);

    const invalid = playbookWithRule('oifname veth-e1 masquerad');
    for (let i = 0; i < 2; i++) {
      const before = runs();
      const refused = await wgplay(['validate', invalid.playbook, '-i', invalid.inventory], env);
      expect(refused.stderr).toContain('nft refuses the table');
      expect(runs()).toBeGreaterThan(before);
    }

    // Another nft (here: the same file with another mtime) checks the text again.
    utimesSync(wrapper, new Date(), new Date(Date.now() - 3_600_000));
    const before = runs();
    expect((await wgplay(['validate', valid.playbook, '-i', valid.inventory], env)).code).toBe(0);
    expect(runs()).toBeGreaterThan(before);
    expect(connections).toBe(connected);
  });
});
