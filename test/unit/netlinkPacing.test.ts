// The pacing of wgplay's link and address changes (src/engine/netlinkPacing.ts), in real
// bash in a network namespace of the test's own, against real netlink listeners that
// stop reading, as a wireguard-go daemon that is not scheduled does (python, named
// wireguard-go: real daemons need a private /run, see test/e2e/busyNeighbour.test.ts).
// One burst of 120 new links overflows a stopped listener's queue (the events a daemon
// dies of); the same lines through wgplay_ip_batch wait for it and it loses nothing.
// A socket nobody reads, as each daemon inherits from its starting process, is not
// waited for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETLINK_PACING } from '../../src/engine/netlinkPacing.js';
import { ScratchHost } from './scratchHost.js';

let host: ScratchHost;
beforeAll(async () => {
  host = await ScratchHost.create({ network: true });
});
afterAll(() => host?.destroy());

/**
 * The test's helpers: a daemon's UAPI folder of its own (so that the pacing sees one
 * running), a listener on link and address events (default queue) that stops as soon
 * as it listens, one whose socket is held by a child that never reads (its port id
 * the pid of its parent, gone), a socket's dropped events and queued bytes, a count
 * of links.
 */
const HELPERS = String.raw`
wgplay_uapi_dir=$(mktemp -d); : > "$wgplay_uapi_dir/wg-x.sock"
named='import ctypes, os, signal, socket
ctypes.CDLL(None).prctl(15, b"wireguard-go", 0, 0, 0)
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.bind((0, 0x111))
'
stopped_listener() {
  /usr/bin/python3 -c "$named"'
os.kill(os.getpid(), signal.SIGSTOP)
while True:
    s.recv(65536)' >/dev/null 2>&1 &
  local p=$!
  until grep -q '^State:[[:space:]]*T' /proc/$p/status; do sleep 0.01; done
  echo $p
}
inherited_socket() {
  /usr/bin/python3 -c 'import ctypes, os, socket, sys, time
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.bind((0, 0x111))
child = os.fork()
if child == 0:
    ctypes.CDLL(None).prctl(15, b"wireguard-go", 0, 0, 0)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    time.sleep(1e9)
print(os.getpid(), child)'
}
column() { local sk eth pid groups rmem wmem dump locks dropped rest; while read -r sk eth pid groups rmem wmem dump locks dropped rest; do if [ "$pid" = "$1" ]; then echo "\${!2}"; fi; done < /proc/net/netlink; }
links() { local n=0 line; while read -r line; do case $line in *": $1"[0-9]*) n=$((n + 1)) ;; esac; done < <(ip -o link show); echo $n; }
`.replaceAll('\\${', '${');

describe('link changes while a wireguard-go daemon listens', () => {
  it('go in chunks once its queue has room, so a daemon that falls behind loses no event', async () => {
    const result = await host.run(`set -euo pipefail
${NETLINK_PACING}
${HELPERS}
l=$(stopped_listener)
for i in $(seq 120); do echo "tuntap add dev a$i mode tun"; done | ip -batch -
echo "one batch: $(links a) links, listener dropped $(column $l dropped)"
kill -9 $l

l=$(stopped_listener)
for i in $(seq 120); do echo "tuntap add dev b$i mode tun"; echo "link set dev b$i mtu 1420 alias wgplay up"; echo "address add 10.1.$i.1/32 dev b$i"; done | wgplay_ip_batch &
batch=$!
prev=-1
for t in $(seq 100); do n=$(links b); if [ "$n" = "$prev" ] && [ "$n" -gt 0 ]; then break; fi; prev=$n; sleep 0.1; done
echo "held: $n links, listener dropped $(column $l dropped), holds $(column $l rmem) of $wgplay_netlink_room bytes"
kill -CONT $l
wait $batch
echo "paced: $(links b) links, $(ip -o -4 address show | grep -c ' b[0-9]') addresses, listener dropped $(column $l dropped)"
kill -9 $l
`);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trim().split('\n');
    // The control: one burst overflows a listener that does not read.
    expect(lines[0]).toMatch(/^one batch: 120 links, listener dropped [1-9]\d*$/);
    // Paced: held back while it does not read, its queue never full, all applied once it reads.
    const [, held, queued, room] = /^held: (\d+) links, listener dropped 0, holds (\d+) of (\d+) bytes$/.exec(lines[1]!)!.map(Number);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(120);
    expect(queued).toBeLessThan(room!);
    expect(lines[2]).toBe('paced: 120 links, 120 addresses, listener dropped 0');
  });

  it('does not wait for a socket nobody reads (the one a daemon inherits from its starting process)', async () => {
    const result = await host.run(`set -euo pipefail
${NETLINK_PACING}
${HELPERS}
read -r parent child < <(inherited_socket)
for i in $(seq 60); do echo "tuntap add dev c$i mode tun"; done | ip -batch -
echo "inherited: port id $parent gone: $([ -e /proc/$parent ] && echo no || echo yes), holds more than half: $([ "$(column $parent rmem)" -gt $((wgplay_netlink_room / 2)) ] && echo yes || echo no), dropped $(column $parent dropped)"
for i in $(seq 60); do echo "link set dev c$i up"; done | wgplay_ip_batch
echo "paced: $(ip -o link show up | grep -c ' c[0-9]*:')"
kill -9 $child
`);
    // Not waited for: no "has not read its link events" after 10 s.
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^inherited: port id \d+ gone: yes, holds more than half: yes, dropped 0\npaced: 60\n$/);
  });

  it('is one batch when no wireguard-go runs', async () => {
    const result = await host.run(`set -euo pipefail
${NETLINK_PACING}
wgplay_uapi_dir=$(mktemp -d)
ip() { if [ "$1" = -batch ]; then echo "batch of $(wc -l)"; else command ip "$@"; fi; }
for i in $(seq 100); do echo "link set dev d$i up"; done | wgplay_ip_batch
`);
    expect(result.stdout).toBe('batch of 100\n');
  });
});
