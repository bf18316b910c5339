// Applies that add 120 customers beside a running one whose wireguard-go daemon is not
// scheduled meanwhile (SIGSTOP: what a loaded machine does to it for a while, made
// deterministic), then remove them again, must not kill that daemon: every new
// interface, address, daemon start and deletion is link and address events queued on
// every running daemon's netlink socket, and a daemon whose queue overflows exits
// (ENOBUFS), cutting its customer. The running customer has a real peer (wireguard-go
// in a namespace of the host's own, configured from `wgplay customer-config`); its
// tunnel carries a TCP exchange before and after, served by the same daemon process.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVATE_KEY_PLACEHOLDER } from '../../src/modules/gateway/customerConfig.js';
import { shellQuote } from '../../src/shell.js';
import { OWN_DAEMONS_SCRIPT, startTestHost, testHostGateway, type TestHost } from './harness.js';
import { wgplay, wgplayJson, writePlaybook } from './wgplayCli.js';

let host: TestHost;
let inventory: string;
let customerKey: { privateKey: string; publicKey: string };
/** Every customer's public key: o1's is its real peer's, the others' are made up. */
const keys: Record<string, string> = {};

const NEW = Array.from({ length: 120 }, (_, i) => `n${i}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The gateway with these customers. */
const gateway = (names: string[]) =>
  writePlaybook(
    testHostGateway(
      'busy neighbour gateway',
      names.map((name) => ({ name, public_key: keys[name]! })),
      { listen_ports: '51000-51199', tables: '1000-1199', our_addresses: '10.200.0.0/24', customer_addresses: '10.100.0.0/24' },
      // Customers reach it on pub0, the link to the peer's namespace.
      { public_interface: 'pub0' },
    ),
    'busy-neighbour.yaml',
  );

/** Each wireguard-go takes an inotify instance, machine-wide: 123 daemons here, beside other tests' (raised only, never lowered). */
function raiseInotifyLimit(daemons: number): void {
  const path = '/proc/sys/fs/inotify/max_user_instances';
  const wanted = daemons + 1024;
  if (Number(readFileSync(path, 'utf8').trim()) < wanted) writeFileSync(path, `${wanted}\n`);
}

/** The pid of the host's wireguard-go serving `iface`. */
const daemonPid = async (iface: string) =>
  (await host.run(OWN_DAEMONS_SCRIPT))
    .split('\n')
    .find((line) => line.trim().endsWith(`wireguard-go ${iface}`))
    ?.split(' ')[0];

/** Inside the peer's namespace and mount namespace (its wireguard-go's UAPI socket is in its own /run). */
const inPeer = (script: string) => host.exec(`nsenter -t "$(cat /run/busy-peer.pid)" -n -m bash -c ${shellQuote(script)}`);

/** What o1's peer answers on TCP 8080, reached from the gateway through the tunnel (its translated address); a handshake may take a moment. */
async function answerThroughO1(): Promise<string> {
  const translated = (await host.run('ip -4 route show dev wg-o1 table main')).split(' ')[0];
  let answer = '';
  for (let attempt = 0; attempt < 10 && answer !== PEER_ANSWER; attempt++) {
    if (attempt > 0) await sleep(500);
    answer = (await host.exec(`socat -T 2 -u TCP:${translated}:8080,connect-timeout=2 STDOUT`)).stdout.trim();
  }
  return answer;
}
const PEER_ANSWER = 'o1-peer';

beforeAll(async () => {
  raiseInotifyLimit(NEW.length + 3);
  host = await startTestHost({ name: 'busy' });
  inventory = host.writeInventory();
  const [privateKey, publicKey] = (await host.run('k=$(wg genkey); echo "$k"; echo "$k" | wg pubkey')).trim().split('\n');
  customerKey = { privateKey: privateKey!, publicKey: publicKey! };
  // The peer's namespace, reached on pub0 (203.0.113.2 is the gateway's public address).
  await host.run(
    'ip netns add busy-peer; ip link add pub0 type veth peer name eth0 netns busy-peer; ip address add 203.0.113.2/24 dev pub0; ip link set pub0 up; ' +
      'ip -n busy-peer address add 203.0.113.9/24 dev eth0; ip -n busy-peer link set eth0 up; ip -n busy-peer link set lo up',
  );
  keys.o1 = customerKey.publicKey;
  for (const name of ['o2', ...NEW]) keys[name] = createHash('sha256').update(`wgplay-busy-test-${name}`).digest('base64');
  const first = await wgplay(['apply', gateway(['o1', 'o2']), '-i', inventory]);
  if (first.code !== 0) throw new Error(`the first apply failed: ${first.stdout}${first.stderr}`);

  // o1's peer: wireguard-go in its namespace, its own /run, from `wgplay customer-config`.
  const config = await wgplay(['customer-config', 'o1', gateway(['o1', 'o2']), '-i', inventory]);
  if (config.code !== 0) throw new Error(`customer-config failed: ${config.stderr}`);
  const field = (name: string) => new RegExp(`^${name} = (.*)$`, 'm').exec(config.stdout)![1]!;
  expect(config.stdout).toContain(PRIVATE_KEY_PLACEHOLDER);
  await host.run(
    `ip netns exec busy-peer unshare -m --propagation private bash -c 'echo $$ > /run/busy-peer.pid; mount -t tmpfs tmpfs /run; ` +
      `wireguard-go cwg0 >/dev/null 2>&1 && socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:echo\\ ${PEER_ANSWER} & exec sleep infinity' </dev/null >/dev/null 2>&1 & ` +
      'for i in $(seq 100); do [ -s /run/busy-peer.pid ] && break; sleep 0.05; done',
  );
  const peer = await inPeer(
    `for i in $(seq 100); do [ -S /run/wireguard/cwg0.sock ] && break; sleep 0.05; done; ` +
      `wg set cwg0 private-key <(echo ${customerKey.privateKey}) peer ${field('PublicKey')} endpoint ${field('Endpoint')} allowed-ips ${field('AllowedIPs')} persistent-keepalive 1; ` +
      `ip address add ${field('Address')} dev cwg0; ip link set cwg0 up; ip route add ${field('AllowedIPs')} dev cwg0`,
  );
  if (peer.code !== 0) throw new Error(`the peer did not start: ${peer.stderr}`);
}, 300_000);

afterAll(async () => {
  // The peer's processes (its daemon, the holder) are in a namespace of this test's own.
  await host?.exec('for p in $(ip netns pids busy-peer); do kill -9 $p; done; ip netns del busy-peer');
  await host?.destroy();
});

/**
 * Applies `playbook` with the daemon `pid` stopped once the apply script runs (the facts
 * before it ask every daemon: a stopped one would not answer), before the changes of
 * `phase`; continued 3 s into that phase. Then: that daemon is the same process, and
 * the apply converged.
 */
async function applyWhileStopped(playbook: string, pid: string, phase: 'links' | 'teardown'): Promise<void> {
  const oldRun = (await host.run('cat /run/wgplay/run/id')).trim();
  const stopped = host.run(
    `r=/run/wgplay/run; new() { [ "$(cat $r/id 2>/dev/null)" != ${oldRun} ]; }; ` +
      `for i in $(seq 12000); do if new && grep -q "^@@wgplay-phase " $r/out 2>/dev/null; then break; fi; sleep 0.01; done; kill -STOP ${pid}; ` +
      `grep -q "^@@wgplay-phase ${phase}" $r/out && echo "stopped too late: the ${phase} phase had begun"; ` +
      `for i in $(seq 6000); do if grep -q "^@@wgplay-phase ${phase}" $r/out; then break; fi; sleep 0.02; done; sleep 3; kill -CONT ${pid}`,
  );
  const applied = await wgplayJson(['apply', playbook, '-i', inventory]);
  expect(await stopped).toBe('');
  // Still the same process: never restarted, never down.
  const said = (await host.exec('cat /run/wgplay/wireguard-go/wg-o1.log')).stdout.split('\n').filter((line) => line.startsWith('ERROR'));
  expect(await daemonPid('wg-o1'), `wg-o1's daemon is gone: ${said.join('\n')}`).toBe(pid);
  expect(applied.report.hosts[0]!.error).toBeUndefined();
  expect(applied.code).toBe(0);
  const plan = await wgplay(['plan', playbook, '-i', inventory]);
  expect(plan.code, plan.stdout).toBe(0);
}

describe('120 customers added, then removed, while a running daemon is not scheduled', () => {
  it("keeps that customer's daemon (same process) and its tunnel, and converges", async () => {
    expect(await answerThroughO1()).toBe(PEER_ANSWER);
    const o1 = await daemonPid('wg-o1');
    expect(o1).toMatch(/^\d+$/);
    await applyWhileStopped(gateway(['o1', 'o2', ...NEW]), o1!, 'links');
    expect(await answerThroughO1()).toBe(PEER_ANSWER);
    expect((await host.run('wg show interfaces')).trim().split(/\s+/)).toHaveLength(122);

    // The 120 removed again: each deletion is link and address events for o1 too.
    await applyWhileStopped(gateway(['o1', 'o2']), o1!, 'teardown');
    expect(await answerThroughO1()).toBe(PEER_ANSWER);
    expect((await host.run('wg show interfaces')).trim().split(/\s+/).sort()).toEqual(['wg-o1', 'wg-o2']);
  }, 400_000);
});
