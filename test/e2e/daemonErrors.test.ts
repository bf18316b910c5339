// A wireguard-go daemon that fails to start reports its own error, not only the
// "Connection reset by peer" of the `wg set` after it. Both ways it fails, made to
// happen inside a lab host only: the starting process (its UAPI socket path is a
// non-empty folder in the host's private /run), and the forked daemon (out of file
// descriptors, the error a machine out of inotify instances gives; the machine's
// inotify limit is shared, so it is never lowered).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileApplyScript } from '../../src/engine/compile.js';
import { startTestHost, type TestHost } from './harness.js';
import { wgplayJson, writePlaybook } from './wgplayCli.js';

/** Shell text that sends `signal` to the wireguard-go of `name` in the lab host's own network namespace. */
const signalDaemon = (name: string, signal: string) =>
  `for p in /proc/[0-9]*; do if [ "$(readlink $p/ns/net)" = "$(readlink /proc/self/ns/net)" ] && [ "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" = "wireguard-go ${name} " ]; then kill -${signal} \${p#/proc/}; fi; done`;

let host: TestHost;
let inventory: string;

beforeAll(async () => {
  host = await startTestHost({ name: 'wgd' });
  inventory = host.writeInventory();
});

afterAll(async () => {
  await host?.destroy();
});

describe('a wireguard-go daemon that fails to start', () => {
  it("fails the apply with wireguard-go's own words; once the cause is gone, apply converges", async () => {
    await host.run('mkdir -p /run/wireguard/wg-fail.sock/in-the-way');
    const playbook = writePlaybook([{ name: 'one tunnel', hosts: 'all', tasks: [{ name: 'tunnel', wireguard_interface: { name: 'wg-fail', listen_port: 51830 } }] }], 'daemon-errors.yaml');
    const failed = await wgplayJson(['apply', playbook, '-i', inventory]);
    expect(failed.code).not.toBe(0);
    const error = failed.report.hosts[0]?.error ?? '';
    expect(error).toContain('apply failed in phase "wireguard"');
    expect(error).toContain('wireguard-go wg-fail said:');
    expect(error).toContain('UAPI listen error: remove /var/run/wireguard/wg-fail.sock: directory not empty');
    expect(error).not.toContain('┌');

    await host.run('rm -rf /run/wireguard/wg-fail.sock');
    const applied = await wgplayJson(['apply', playbook, '-i', inventory]);
    expect(applied.code).toBe(0);
    expect((await host.run('wg show wg-fail listen-port')).trim()).toBe('51830');
  });

  it('prints the error of a daemon that died after its starting process returned 0', async () => {
    // 16 descriptors: enough for the starting process, not for the forked daemon (its
    // UAPI listener or its sockets, depending on what the shell itself holds).
    const script = compileApplyScript([
      {
        resource: 'wireguard interface wg-late',
        action: 'create',
        diff: '+ wireguard interface wg-late',
        steps: [
          { kind: 'shell', phase: 'links', script: 'wgplay_new_links+=(wg-late)\nwgplay_create_links' },
          { kind: 'shell', phase: 'wireguard', script: 'ulimit -n 16\nwgplay_wg_up new wg-late - listen-port 51831\nwgplay_wg_wait' },
        ],
      },
    ]);
    const result = await host.exec(script);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('@@wgplay-phase wireguard');
    expect(result.stderr).toMatch(/wireguard-go wg-late said:\nERROR: \(wg-late\) .*too many open files/);
    // Not what `wg set` said about the socket of a daemon that was gone.
    expect(result.stderr).not.toMatch(/Connection reset by peer|Connection refused|Unable to modify interface/);
  });

  it('fails in the wireguard phase when a daemon that had started is gone once all have started', async () => {
    // wg-gone starts and takes its port, then exits (as one does that falls behind on the
    // link events of the daemons starting after it); its neighbour stays.
    const ours = signalDaemon('wg-gone', 'TERM');
    const script = compileApplyScript([
      {
        resource: 'wireguard interfaces wg-gone, wg-stays',
        action: 'create',
        diff: '+ wireguard interface wg-gone\n+ wireguard interface wg-stays',
        steps: [
          { kind: 'shell', phase: 'links', script: 'wgplay_new_links+=(wg-gone wg-stays)\nwgplay_create_links' },
          { kind: 'shell', phase: 'wireguard', stage: 'interfaces', script: 'wgplay_wg_up new wg-gone - listen-port 51833\nwgplay_wg_up new wg-stays - listen-port 51834\nwgplay_wg_wait' },
          { kind: 'shell', phase: 'wireguard', stage: 'interfaces', script: `${ours}\nfor i in $(seq 100); do [ -S /var/run/wireguard/wg-gone.sock ] || break; sleep 0.05; done` },
          { kind: 'shell', phase: 'wireguard', stage: 'started', script: 'wgplay_wg_started' },
        ],
      },
    ]);
    const result = await host.exec(script);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('@@wgplay-phase wireguard');
    expect(result.stdout).not.toContain('@@wgplay-phase done');
    expect(result.stderr).toContain('wireguard-go wg-gone is gone after starting');
    expect(result.stderr).not.toContain('wg-stays is gone');
    expect((await host.run('wg show wg-stays listen-port')).trim()).toBe('51834');
  });
});

describe('a wireguard-go daemon that stops answering', () => {
  it('fails plan and apply for that host in seconds, naming the interface, and changes nothing; once it answers again, nothing is to do', async () => {
    const tunnels = (answersPort: number) =>
      writePlaybook(
        [{ name: 'two tunnels', hosts: 'all', tasks: [['wg-stopped', 51840], ['wg-answers', answersPort]].map(([name, port]) => ({ name, wireguard_interface: { name, listen_port: port } })) }],
        'stopped-daemon.yaml',
      );
    const playbook = tunnels(51841);
    expect((await wgplayJson(['apply', playbook, '-i', inventory])).code).toBe(0);
    // A stopped daemon accepts wg's connection on its socket and never answers.
    await host.run(signalDaemon('wg-stopped', 'STOP'));
    try {
      const moved = tunnels(51842);
      for (const command of ['plan', 'apply']) {
        const stuck = await wgplayJson([command, moved, '-i', inventory]);
        expect(stuck.code, command).not.toBe(0);
        expect(stuck.report.hosts[0]?.applied, command).toBe(false);
        expect(stuck.report.hosts[0]?.error, command).toContain('the wireguard-go daemon of wg-stopped does not answer (stopped or hung)');
        expect(stuck.stderr, command).not.toMatch(/\n\s+at /);
      }
    } finally {
      await host.run(signalDaemon('wg-stopped', 'CONT'));
    }
    expect((await host.run('wg show wg-answers listen-port')).trim()).toBe('51841');
    const after = await wgplayJson(['plan', playbook, '-i', inventory]);
    expect(after.code).toBe(0);
    expect(after.report.hosts[0]?.tasks.flatMap((task) => task.changes)).toEqual([]);
  }, 120_000);
});
