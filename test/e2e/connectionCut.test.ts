// The SSH connection dies in the middle of an apply: the gateway-side sshd session is
// killed while the apply script of 50 new customers runs. wgplay says the connection
// was lost (exit 4, the changes still listed); the detached script is not killed with
// the session; a rerun converges every customer and touches nothing of the others.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, testHostGateway, type TestHost } from './harness.js';
import { wgplay, wgplayJson, writePlaybook, type JsonReport } from './wgplayCli.js';

let host: TestHost;
let inventory: string;
const BIN = new URL('../../bin/wgplay.js', import.meta.url).pathname;

const key = (name: string) => createHash('sha256').update(`wgplay-cut-test-${name}`).digest('base64');
const gateway = (names: string[]) =>
  writePlaybook(
    testHostGateway(
      'cut test gateway',
      names.map((name) => ({ name, public_key: key(name) })),
      { listen_ports: '51000-51199', tables: '1000-1199', our_addresses: '10.200.0.0/24', customer_addresses: '10.100.0.0/24' },
    ),
  );

const OTHERS = ['o1', 'o2'];
const NEW = Array.from({ length: 50 }, (_, i) => `n${i}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What belongs to the customers already there: nothing of it may change. When it cannot be read (a daemon gone), the failure carries their daemons' logs. */
const othersState = async () => {
  const state = await host.exec(
    OTHERS.map((name) => `ip -o link show dev wg-${name} | cut -d: -f1; wg show wg-${name} public-key; wg show wg-${name} listen-port; wg show wg-${name} peers`).join('; '),
  );
  if (state.code === 0) return state.stdout;
  const logs = await host.exec(`tail -n 5 ${OTHERS.map((name) => `/run/wgplay/wireguard-go/wg-${name}.log`).join(' ')}; ls /run/wireguard`);
  throw new Error(`the other customers' interfaces cannot be read: ${state.stderr.trim()}\n${logs.stdout}${logs.stderr}`);
};

/** What a cut can leave: temporary files of atomic writes, wgplay's own state. */
const leftovers = () =>
  host.run(
    'echo "interfaces: $(wg show interfaces | wc -w)"; echo "temporary files: $(find /etc /var/lib/wgplay -name "*.wgplay-tmp" 2>/dev/null | wc -l)"; ' +
      'echo "apply script: $(cat /run/wgplay/run/rc 2>/dev/null && echo exited || echo running)"; echo "last phase: $(grep "^@@wgplay-phase" /run/wgplay/run/out | tail -n 1)"; ' +
      'echo "rollback: $(cat /run/wgplay/confirm/state 2>/dev/null)"; echo "lock: $(cat /run/wgplay/apply.owner 2>/dev/null || echo free)"',
  );

/**
 * Inside the host: waits for a new apply run (another run id) to enter its first phase,
 * then at once kills this host's sshd sessions (every sshd but the listener), so the
 * connection dies on the gateway's side while the apply script runs (checked and
 * killed in one script on the host: no round trip in between for the script to finish in). Prints how
 * many sessions it killed and how many interfaces were up.
 */
const cutDuringApply = (oldRun: string) =>
  host.run(
    `r=/run/wgplay/run; for i in $(seq 12000); do [ "$(cat $r/id 2>/dev/null)" != ${JSON.stringify(oldRun)} ] && grep -q "^@@wgplay-phase " $r/out 2>/dev/null && [ ! -e $r/rc ] && break; sleep 0.01; done; ` +
      // Builtins only (read, test -ef): a fork per process of the machine would give the
      // apply script the time to finish before the kill lands.
      'listener=$(cat /run/sshd.pid); n=0; for p in /proc/[0-9]*; do pid=${p#/proc/}; { read -r comm < $p/comm; } 2>/dev/null || continue; ' +
      'case "$comm" in sshd|sshd-session) ;; *) continue ;; esac; [ $p/ns/net -ef /proc/self/ns/net ] || continue; ' +
      '[ "$pid" = "$listener" ] && continue; kill -9 $pid && n=$((n+1)); done; echo "$n $(wg show interfaces | wc -w)"',
  );

beforeAll(async () => {
  host = await startTestHost({ name: 'cut' });
  inventory = host.writeInventory();
  const first = await wgplay(['apply', gateway(OTHERS), '-i', inventory]);
  if (first.code !== 0) throw new Error(`the first apply failed: ${first.stdout}${first.stderr}`);
});

afterAll(async () => {
  await host?.destroy();
});

describe('the connection dies during an apply', () => {
  it('reports the loss (exit 4, changes listed), and a rerun converges all 52 customers without disturbing the others', async () => {
    const before = await othersState();
    const all = gateway([...OTHERS, ...NEW]);
    const oldRun = (await host.run('cat /run/wgplay/run/id')).trim();
    const cut = cutDuringApply(oldRun);
    const child = spawn(process.execPath, [BIN, 'apply', all, '-i', inventory, '--json', '--confirm-timeout', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const [killed, interfacesAtCut] = (await cut).trim().split(' ').map(Number);
    expect(killed).toBeGreaterThan(0);
    const code = await exited;
    const report = JSON.parse(stdout) as JsonReport & { hosts: { outcome?: string }[] };
    const h = report.hosts[0]!;
    expect(code).toBe(4);
    expect(h.status).toBe('unreachable');
    expect(h.outcome).toBe('cut');
    expect(h.error).toMatch(/^connection lost during apply: the host may be partly changed; run apply again/);
    // Never "0 changes": what the apply was doing is listed.
    expect(h.tasks.flatMap((task) => task.changes).length).toBeGreaterThan(50 * 5);
    console.log(`cut with ${interfacesAtCut} interfaces up; right after the cut:\n${await leftovers()}`);

    // The detached script was not killed with the session: it runs to its end.
    for (let i = 0; i < 1200 && (await host.exec('test -e /run/wgplay/run/rc')).code !== 0; i++) await sleep(50);
    expect(await host.run('cat /run/wgplay/run/rc')).toBe('0\n');
    console.log(`once the apply script ended:\n${await leftovers()}`);
    // Not confirmed (the connection was gone): the host rolls back by itself.
    for (let i = 0; i < 600 && (await host.run('cat /run/wgplay/confirm/state')).trim() !== 'rolled-back'; i++) await sleep(50);
    console.log(`after the rollback, before the rerun:\n${await leftovers()}\n${(await host.run('cat /run/wgplay/confirm/rollback.log')).split('\n').slice(0, 8).join('\n')}`);
    expect(await othersState()).toBe(before);

    // The rerun waits for the cut apply's rollback timer (it holds the lock), then converges.
    const rerun = await wgplayJson(['apply', all, '-i', inventory, '--lock-timeout', '60']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect((rerun.report.hosts[0] as { notes?: string[] }).notes?.join('\n')).toMatch(/the previous apply \(started at .*\) lost its connection before wgplay could report it; on the host it ended with exit 0 after phase "done"/);
    const plan = await wgplay(['plan', all, '-i', inventory]);
    expect(plan.code, plan.stdout).toBe(0);

    // Every customer complete: interface, rule, route, and its elements in the six sets and maps.
    const names = [...OTHERS, ...NEW];
    expect((await host.run('wg show interfaces')).trim().split(/\s+/).sort()).toEqual(names.map((name) => `wg-${name}`).sort());
    expect((await host.run('ip rule show priority 100 | wc -l')).trim()).toBe(String(names.length));
    expect((await host.run('ip route show | grep -c " dev wg-"')).trim()).toBe(String(names.length));
    for (const map of ['inbound_dnat', 'inbound_snat', 'outbound_dnat', 'outbound_snat']) {
      expect((await host.run(`nft -j list map inet wgplay_nat ${map}`)).match(/"wg-[a-z0-9]+"/g)?.length, map).toBe(names.length);
    }
    expect((await host.run('nft -j list set inet wgplay_filter wg_ports')).match(/\b51[01]\d\d\b/g)?.length).toBe(names.length);
    expect((await host.run('find /etc /var/lib/wgplay -name "*.wgplay-tmp" | wc -l')).trim()).toBe('0');
    // The customers that were there before: same interface (not recreated), key, port, peer.
    expect(await othersState()).toBe(before);
  });
});
