// `wgplay lab up|down|status`: the seed article's topology as namespace hosts on this
// machine (see src/lab/seedLab.ts). Needs root.

import { readFileSync } from 'node:fs';
import { PRIVATE_KEY_PLACEHOLDER } from '../modules/gateway/customerConfig.js';
import { LAB, SeedLab, labDown, labStatus, labUp, type LabStatus } from '../lab/seedLab.js';

const USAGE = `Usage: wgplay lab <up|down|status> [--json]
       wgplay lab connect CUSTOMER CONFIG_FILE
       wgplay lab exec HOST -- COMMAND [ARGS...]

Builds the seed topology of "WireGuard With Overlapping Client Networks" from network
and mount namespaces on this machine (needs root):

  Host A  198.51.100.10/25   customer, HTTP on :80, WireGuard not configured
  Host B  198.51.100.130/25  customer, HTTP on :80, WireGuard not configured
  Host C  203.0.113.2/24     the gateway (eth0), HTTP on :8080, sshd on ${LAB.ssh.host}:22
  R       router between them (ip_forward=1)

Host C over SSH (what an inventory points at):
  ansible_host                  ${LAB.ssh.host}
  ansible_user                  root
  ansible_ssh_private_key_file  ${LAB.ssh.privateKeyPath}
  wgplay_known_hosts_file       ${LAB.ssh.knownHostsPath}

Commands:
  up       create the lab (fails if it is already up; leftovers of a crashed run are removed)
  down     remove everything the lab created (idempotent)
  status   hosts, their processes, and \`wg show\` inside each host
  connect  bring up a customer host's wg0 from \`wgplay customer-config\` output,
           with the private key only that lab host has in place of the placeholder
  exec     run a command inside a lab host (a, b, c, r, ...), e.g. curl

Files /etc/wireguard, /etc/nftables.conf... written on lab hosts land in per-host
overlays under ${LAB.stateDir}/, never in this machine's /etc.
`;

export async function runLabCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'connect' || argv[0] === 'exec') return runInLab(argv);
  const args = argv.filter((a) => a !== '--json');
  const json = argv.includes('--json');
  if (args.length === 0 || args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    (args.length === 0 ? process.stderr : process.stdout).write(USAGE);
    return args.length === 0 ? 1 : 0;
  }
  const [command, ...rest] = args;
  if (rest.length > 0) {
    process.stderr.write(`wgplay lab ${command}: unexpected argument ${rest[0]}\n\n${USAGE}`);
    return 1;
  }
  if (!['up', 'down', 'status'].includes(command!)) {
    process.stderr.write(`wgplay lab: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 1;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    process.stderr.write(`wgplay lab ${command}: needs root (network namespaces, veths, mounts); nothing was changed\n`);
    return 1;
  }
  try {
    switch (command) {
      case 'up': {
        const started = Date.now();
        const state = await labUp();
        if (json) {
          process.stdout.write(JSON.stringify(redactState(state), null, 2) + '\n');
          return 0;
        }
        const lines = [`lab up in ${((Date.now() - started) / 1000).toFixed(1)} s`];
        for (const h of Object.values(state.hosts)) {
          const addr = h.underlay ? `${h.underlay.address}/${h.underlay.prefixLen}` : '';
          const http = h.http ? `  http :${h.http.port}` : '';
          lines.push(`  ${h.hostname.padEnd(8)} netns ${h.netns.padEnd(7)} ${addr.padEnd(18)}${http}`);
        }
        lines.push(
          '',
          `ssh: ssh -i ${state.ssh.privateKeyPath} -o UserKnownHostsFile=${state.ssh.knownHostsPath} ` +
            `-o StrictHostKeyChecking=yes root@${state.ssh.host}`,
          `run in Host A: nsenter --target=${state.hosts.a?.holderPid} --mount --net --uts -- curl -s http://203.0.113.2:8080/`,
        );
        process.stdout.write(lines.join('\n') + '\n');
        return 0;
      }
      case 'down': {
        const started = Date.now();
        const removed = await labDown();
        if (json) process.stdout.write(JSON.stringify({ removed }) + '\n');
        else if (removed.length === 0) process.stdout.write('lab is not up; nothing to remove\n');
        else process.stdout.write(`lab down in ${((Date.now() - started) / 1000).toFixed(1)} s: removed ${removed.join(', ')}\n`);
        return 0;
      }
      default: {
        const status = await labStatus();
        if (json) process.stdout.write(JSON.stringify(status, null, 2) + '\n');
        else process.stdout.write(formatStatus(status));
        return 0;
      }
    }
  } catch (e) {
    process.stderr.write(`wgplay lab ${command}: ${(e as Error).message}\n`);
    return 1;
  }
}

function redactState<T extends { hosts: Record<string, { wg?: { privateKey: string; publicKey: string } }> }>(state: T): T {
  const copy = structuredClone(state);
  for (const h of Object.values(copy.hosts)) if (h.wg) h.wg.privateKey = '(redacted)';
  return copy;
}

function formatStatus(s: LabStatus): string {
  const out: string[] = [];
  if (s.hosts.length === 0) out.push(`lab is down (no ${s.stateFile})`);
  else out.push(s.up ? 'lab is up' : 'lab is PARTLY up (run `wgplay lab down`, then `wgplay lab up`)');
  for (const h of s.hosts) {
    out.push(
      `  ${h.id} (${h.role}) netns ${h.netns}: ${h.exists ? 'exists' : 'MISSING'}, holder ${h.holderAlive ? 'alive' : 'DEAD'}`,
    );
    for (const p of h.processes) out.push(`      ${String(p.pid).padStart(7)}  ${p.cmd}`);
    if (h.wgShow) out.push(...h.wgShow.split('\n').map((l) => `      | ${l}`));
  }
  if (s.ssh) out.push(`ssh: root@${s.ssh.host}:${s.ssh.port} key ${s.ssh.privateKeyPath} known_hosts ${s.ssh.knownHostsPath}`);
  if (s.strayNamespaces.length) out.push(`stray namespaces (removed by \`wgplay lab down\`): ${s.strayNamespaces.join(', ')}`);
  return out.join('\n') + '\n';
}

/** `lab connect` and `lab exec`: act inside the running lab's hosts. */
async function runInLab(argv: string[]): Promise<number> {
  const [command, host, ...rest] = argv;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    process.stderr.write(`wgplay lab ${command}: needs root; nothing was changed\n`);
    return 1;
  }
  try {
    const lab = SeedLab.load(LAB.stateDir);
    if (!lab) throw new Error('the lab is not up (run `wgplay lab up`)');
    if (!host) throw new Error(`which host? (${Object.keys(lab.toState().hosts).join(', ')})`);
    if (command === 'connect') {
      if (rest.length !== 1) throw new Error('usage: wgplay lab connect CUSTOMER CONFIG_FILE');
      const config = readFileSync(rest[0]!, 'utf8');
      if (!config.includes(PRIVATE_KEY_PLACEHOLDER)) throw new Error(`${rest[0]} is not output of wgplay customer-config`);
      await lab.configureCustomer(host, config.replace(PRIVATE_KEY_PLACEHOLDER, lab.customerKeys(host).privateKey));
      process.stdout.write(`host ${host}: wg0 up\n`);
      return 0;
    }
    const command_ = rest[0] === '--' ? rest.slice(1) : rest;
    if (command_.length === 0) throw new Error('usage: wgplay lab exec HOST -- COMMAND [ARGS...]');
    const result = await lab.host(host).exec(command_);
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    return result.code;
  } catch (e) {
    process.stderr.write(`wgplay lab ${command}: ${(e as Error).message}\n`);
    return 1;
  }
}
