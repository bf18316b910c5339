// A reboot of a lab host, without a kernel: what a reboot loses, then what a Debian boot
// runs, read from the host's own files (never from wgplay's knowledge of them).
//
//   powerOff: wireguard-go processes killed (by pid, only this host's), WireGuard links
//             gone, ruleset flushed, policy rules back to the kernel's three, routes of
//             every table but main and local flushed, /run emptied, the reserved-ports
//             sysctl reset. /etc and /var/lib are the disk: kept. The physical NICs
//             (eth0, mgmt0) and their addresses stand for the network configuration the
//             host's own boot brings up; wgplay does not manage them.
//   boot:     `sysctl -p` of every /etc/sysctl.d/*.conf (systemd-sysctl), then every
//             one-shot unit enabled in /etc/systemd/system/{sysinit,network-pre,network,
//             multi-user}.target.wants, in that order: its Environment= and ExecStart=
//             lines, with %i / %I expanded to the instance of a template unit.
//
// The lab host's /etc is an overlay of this machine's: `adoptAsOwnDisk` first removes
// (inside the host only) the units and sysctl files it inherited, which belong to this
// machine. As a second guard, the boot refuses any command other than nft and wg-quick
// and any sysctl outside net.*: nothing it runs may reach beyond the host's namespaces.

import type { ExecResult } from '../../src/lab/exec.js';

type RunInHost = (script: string) => Promise<ExecResult>;

const BOOT_TARGETS = ['sysinit', 'network-pre', 'network', 'multi-user'] as const;
const ALLOWED_PROGRAMS = new Set(['nft', 'wg-quick']);

async function check(run: RunInHost, script: string): Promise<string> {
  const result = await run(script);
  if (result.code !== 0) throw new Error(`${script}\nexit ${result.code}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Removes what the host's /etc inherited from this machine: its enabled units and sysctl files. */
export async function adoptAsOwnDisk(run: RunInHost): Promise<void> {
  await check(run, 'rm -f /etc/systemd/system/*.target.wants/* /etc/sysctl.d/*.conf');
}

/** Everything a reboot loses. */
export async function powerOff(run: RunInHost): Promise<void> {
  await check(
    run,
    String.raw`set -u
self=$(readlink /proc/self/ns/net)
pids=
for p in $(pgrep -x wireguard-go || true); do
  [ "$(readlink /proc/$p/ns/net 2>/dev/null)" = "$self" ] && pids="$pids $p"
done
[ -z "$pids" ] || kill $pids
for i in $(seq 100); do
  alive=; for p in $pids; do [ -e /proc/$p ] && alive=1; done
  [ -z "$alive" ] && break; sleep 0.05
done
for kind in wireguard tun; do
  for dev in $(ip -o link show type $kind | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do ip link del dev "$dev"; done
done
nft flush ruleset
for family in -4 -6; do
  ip $family rule flush
  ip $family rule add priority 32766 table main
done
ip -4 rule add priority 32767 table default
for family in -4 -6; do
  for table in $(ip $family route show table all | grep -o ' table [^ ]*' | awk '{ print $2 }' | sort -u); do
    case $table in main|local) ;; *) ip $family route flush table "$table" ;; esac
  done
done
find /run -mindepth 1 -delete
mkdir -p -m 0755 /run/sshd /run/lock # what tmpfiles.d makes at boot for this lab's sshd
sysctl -q -w net.ipv4.ip_local_reserved_ports=
`,
  );
}

interface BootUnit {
  target: (typeof BOOT_TARGETS)[number];
  unit: string;
  file: string;
  commands: string[];
}

/** The one-shot units the host would start at boot, in order, with their commands. */
async function enabledOneShotUnits(run: RunInHost): Promise<BootUnit[]> {
  const units: BootUnit[] = [];
  for (const target of BOOT_TARGETS) {
    const listing = await check(
      run,
      `for l in /etc/systemd/system/${target}.target.wants/*; do [ -e "$l" ] && printf '%s\\t%s\\n' "\${l##*/}" "$(readlink -f "$l")"; done; true`,
    );
    for (const line of listing.split('\n').filter(Boolean)) {
      const [unit, file] = line.split('\t') as [string, string];
      const text = await check(run, `cat -- '${file.replace(/'/g, "'\\''")}'`);
      const service = serviceSection(text);
      if ((service.get('Type')?.at(-1) ?? 'simple') !== 'oneshot') continue;
      const instance = /^[^@]+@(.+)\.service$/.exec(unit)?.[1] ?? '';
      const expand = (value: string) => value.replace(/%[iI]/g, instance);
      const environment = (service.get('Environment') ?? []).map(expand);
      const commands = [...(service.get('ExecStartPre') ?? []), ...(service.get('ExecStart') ?? [])].map((command) => {
        const argv = expand(command).replace(/^[-@:+!]+/, '');
        const program = argv.split(/\s+/)[0]!.replace(/^.*\//, '');
        if (!ALLOWED_PROGRAMS.has(program)) throw new Error(`${unit} runs ${program}: the boot simulator runs only ${[...ALLOWED_PROGRAMS].join(', ')}`);
        return [...environment, argv].join(' ');
      });
      units.push({ target, unit, file, commands });
    }
  }
  return units;
}

/** A unit file's [Service] section: key -> values in order. */
function serviceSection(text: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== 'Service' || eq < 0) continue;
    const key = line.slice(0, eq).trim();
    values.set(key, [...(values.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return values;
}

/** What the boot ran, for the test's log. */
interface BootRecord {
  sysctlFiles: string[];
  units: BootUnit[];
}

/**
 * The boot: sysctl files, then the one-shot units. `env` is added to every unit's
 * command (the lab has no kernel WireGuard: WG_QUICK_USERSPACE_IMPLEMENTATION).
 */
export async function boot(run: RunInHost, env: Record<string, string> = {}): Promise<BootRecord> {
  const sysctlFiles = (await check(run, 'for f in /etc/sysctl.d/*.conf; do [ -e "$f" ] && echo "$f"; done; true')).split('\n').filter(Boolean);
  for (const file of sysctlFiles) {
    const text = await check(run, `cat -- '${file}'`);
    for (const line of text.split('\n')) {
      const key = /^\s*-?([^#;=\s][^=]*?)\s*=/.exec(line)?.[1];
      if (key && !key.startsWith('net.')) throw new Error(`${file} sets ${key}: the boot simulator applies net.* only`);
    }
    await check(run, `sysctl -q -p '${file}'`);
  }
  const units = await enabledOneShotUnits(run);
  const prefix = Object.entries(env).map(([key, value]) => `${key}=${value}`).join(' ');
  for (const unit of units) {
    for (const command of unit.commands) await check(run, `env ${prefix} ${command} < /dev/null 2>&1`);
  }
  return { sysctlFiles, units };
}
