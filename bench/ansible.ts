// `--ansible`: the same job as an Ansible playbook (Debian's ansible-core, builtin modules
// only, pipelining and ControlPersist on, no fact gathering), for the README's honest
// comparison. Written the way such playbooks usually are: one task per kind of thing,
// looping over the customers, each item checked before it is changed (so a second run
// changes nothing). Same wanted state as the baselines (bench/baselines.ts), same file
// bundle (unpacked with `unarchive`).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { stringify } from 'yaml';
import { keyFileOf } from '../src/tasks/wireguardInterface.js';
import type { TaskInvocation } from '../src/tasks/types.js';
import { addressLines, nftScript, routeLines, ruleLines, wantedOf, type FileBundle } from './baselines.js';
import type { BenchHost } from './hosts.js';

export const ansibleAvailable = () => existsSync('/usr/bin/ansible-playbook');

export interface AnsibleRun {
  code: number;
  wallMs: number;
  output: string;
}

function playbookFor(tasks: TaskInvocation[], bundleTar: string, nftFile: string): unknown[] {
  const w = wantedOf(tasks);
  const interfaces = w.interfaces.map((wg) => ({
    name: wg.name,
    key: keyFileOf(wg),
    set: `listen-port ${wg.listen_port} private-key ${keyFileOf(wg)} ${(wg.peers ?? []).map((peer) => `peer ${peer.public_key} allowed-ips ${peer.allowed_ips.join(',')}`).join(' ')}`,
    mtu: wg.mtu ?? 1420,
  }));
  // `ip address add A dev N` -> [A, N]; `rule add from X table T priority P` -> the line and what `ip rule show` prints for it.
  const addresses = addressLines(w).map((line) => {
    const [, address, dev] = /^address add (\S+) dev (\S+)$/.exec(line)!;
    return { address: address!, dev: dev! };
  });
  const rules = ruleLines(w).map((line) => ({ line, shown: line.replace(/^rule add from (\S+) table (\S+) priority (\d+)$/, '$3:\tfrom $1 lookup $2') }));
  return [
    {
      name: 'bench gateway (Ansible)',
      hosts: 'all',
      gather_facts: false,
      tasks: [
        {
          name: 'sysctls',
          'ansible.builtin.shell': `[ "$(sysctl -n {{ item.key }})" = "{{ item.value }}" ] && echo same || sysctl -q -w "{{ item.key }}={{ item.value }}"`,
          loop: w.sysctls,
          register: 'out',
          changed_when: "out.stdout != 'same'",
        },
        { name: 'files', 'ansible.builtin.unarchive': { src: bundleTar, dest: '/' } },
        { name: 'key folder', 'ansible.builtin.file': { path: '/etc/wireguard', state: 'directory', mode: '0700' } },
        { name: 'private keys', 'ansible.builtin.shell': { cmd: 'umask 077; wg genkey > {{ item.key }}', creates: '{{ item.key }}' }, loop: interfaces },
        { name: 'wireguard-go daemons', 'ansible.builtin.command': { cmd: 'wireguard-go {{ item.name }}', creates: '/var/run/wireguard/{{ item.name }}.sock' }, loop: interfaces },
        { name: 'WireGuard configuration', 'ansible.builtin.command': 'wg set {{ item.name }} {{ item.set }}', loop: interfaces, changed_when: false },
        {
          name: 'addresses',
          'ansible.builtin.shell': `ip -o address show dev {{ item.dev }} | grep -qF " {{ item.address }} " && echo same || ip address add {{ item.address }} dev {{ item.dev }}`,
          loop: addresses,
          register: 'out',
          changed_when: "out.stdout != 'same'",
        },
        { name: 'links up', 'ansible.builtin.command': 'ip link set dev {{ item.name }} mtu {{ item.mtu }} up', loop: interfaces, changed_when: false },
        {
          name: 'rules',
          'ansible.builtin.shell': `ip rule show | grep -qF "{{ item.shown }}" && echo same || ip {{ item.line }}`,
          loop: rules,
          register: 'out',
          changed_when: "out.stdout != 'same'",
        },
        { name: 'routes', 'ansible.builtin.command': 'ip {{ item }}', loop: routeLines(w), changed_when: false },
        { name: 'nftables file', 'ansible.builtin.copy': { src: nftFile, dest: '/run/bench-ansible.nft', mode: '0600' }, register: 'nft' },
        { name: 'nftables', 'ansible.builtin.command': 'nft -f /run/bench-ansible.nft', when: 'nft.changed' },
      ],
    },
  ];
}

function ansiblePlaybook(dir: string, inventory: string, playbook: string): Promise<AnsibleRun> {
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
    ANSIBLE_HOME: join(dir, 'home'),
    ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    // The test host's /run is its own (its /tmp is the machine's).
    ANSIBLE_REMOTE_TEMP: '/run/ansible-tmp',
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_SSH_ARGS: '-o ControlMaster=auto -o ControlPersist=60s',
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('ansible-playbook', ['-i', inventory, playbook], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, wallMs: performance.now() - started, output: output.slice(-3000) }));
  });
}

/** The playbook's first run (fresh host) and its second (nothing to change). */
export async function ansibleRun(host: BenchHost, tasks: TaskInvocation[], bundle: FileBundle | undefined, workDir: string): Promise<{ apply: AnsibleRun; noop: AnsibleRun }> {
  if (!bundle) throw new Error("no file bundle: wgplay's first apply failed");
  const dir = join(workDir, `ansible-${host.netns}`);
  for (const sub of ['home', 'tmp', 'cp']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'ansible.cfg'), '');
  const tar = join(dir, 'bundle.tar');
  writeFileSync(tar, Buffer.from(bundle.tarBase64, 'base64'));
  const nft = join(dir, 'wgplay.nft');
  writeFileSync(nft, `${nftScript(wantedOf(tasks))}\n`);
  const playbook = join(dir, 'playbook.yaml');
  writeFileSync(playbook, stringify(playbookFor(tasks, tar, nft)));
  const inventory = join(dir, 'inventory.yaml');
  writeFileSync(
    inventory,
    stringify({
      all: {
        hosts: {
          [host.name]: {
            ansible_host: host.ssh.host,
            ansible_port: host.ssh.port,
            ansible_user: 'root',
            ansible_ssh_private_key_file: host.ssh.privateKeyPath,
            ansible_ssh_common_args: `-F /dev/null -o IdentitiesOnly=yes -o UserKnownHostsFile=${host.ssh.knownHostsPath} -o StrictHostKeyChecking=yes`,
          },
        },
      },
    }),
  );
  const apply = await ansiblePlaybook(dir, inventory, playbook);
  const noop = await ansiblePlaybook(dir, inventory, playbook);
  return { apply, noop };
}
