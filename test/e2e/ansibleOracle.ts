// Ansible itself (Debian's ansible-core) as the oracle for how an inventory reads:
// ansible-inventory for the variables and groups, an ad-hoc debug for the magic
// variables, and the ssh command line of `ansible -m ping -vvv` for the connection.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';


/** What a case of the corpus gives: its command-line arguments (relative to its folder). */
export interface OracleCase {
  args: string[];
  /** Hosts to ping (default: every host). Each must resolve to a 127.0.0.0/8 address. */
  ping?: string[];
}

/** The connection a tool would open to a host. */
export interface Connection {
  user: string;
  address: string;
  port: number;
  key?: string;
  jump?: string;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Ansible reads no configuration file of this machine's (an empty one), and its ssh
// plugin runs /bin/false instead of ssh: it prints the exact ssh command line it would
// run (-vvv), and nothing is ever sent anywhere.
const emptyConfig = join(mkdtempSync(join(tmpdir(), 'wgplay-ansible-')), 'ansible.cfg');
writeFileSync(emptyConfig, '');
const ANSIBLE_ENV = {
  ANSIBLE_CONFIG: emptyConfig,
  ANSIBLE_TIMEOUT: '1',
  ANSIBLE_HOST_KEY_CHECKING: 'False',
  ANSIBLE_NOCOLOR: '1',
  ANSIBLE_FORCE_COLOR: '0',
  ANSIBLE_LOCALHOST_WARNING: 'False',
  ANSIBLE_INVENTORY_UNPARSED_WARNING: 'False',
  ANSIBLE_DEPRECATION_WARNINGS: 'False',
  ANSIBLE_SSH_RETRIES: '0',
  ANSIBLE_SSH_EXECUTABLE: '/bin/false',
};

export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

type InventoryList = Record<string, unknown> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };

export async function ansibleList(cwd: string, args: string[]): Promise<InventoryList> {
  const result = await run('ansible-inventory', [...args, '--list'], cwd, ANSIBLE_ENV);
  if (result.code !== 0) throw new Error(`ansible-inventory ${args.join(' ')} --list failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as InventoryList;
}

export async function ansibleHost(cwd: string, args: string[], host: string): Promise<Record<string, unknown>> {
  const result = await run('ansible-inventory', [...args, '--host', host], cwd, ANSIBLE_ENV);
  if (result.code !== 0) throw new Error(`ansible-inventory ${args.join(' ')} --host ${host} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

interface MagicVars {
  inventory_hostname: string;
  group_names: string[];
  groups: Record<string, string[]>;
}

/** inventory_hostname, group_names and groups of every host, from an ad-hoc debug (contacts nobody). */
export async function ansibleMagic(cwd: string, args: string[]): Promise<Map<string, MagicVars>> {
  const msg = '{{ {"inventory_hostname": inventory_hostname, "group_names": group_names, "groups": groups} | to_json }}';
  const result = await run('ansible', ['all', ...args, '-m', 'debug', '-a', `msg=${msg}`, '-o'], cwd, ANSIBLE_ENV);
  const magic = new Map<string, MagicVars>();
  for (const line of result.stdout.split('\n')) {
    const m = /^(\S+) \| SUCCESS => (.*)$/.exec(line);
    if (!m) continue;
    const body = JSON.parse(m[2]!) as { msg: string | MagicVars };
    magic.set(m[1]!, typeof body.msg === 'string' ? (JSON.parse(body.msg) as MagicVars) : body.msg);
  }
  if (magic.size === 0) throw new Error(`ansible all ${args.join(' ')} -m debug printed nothing:\n${result.stdout}\n${result.stderr}`);
  return magic;
}

/** POSIX shell words of a command line (what ansible -vvv prints). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let s = '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && '"\\$`'.includes(line[i + 1]!)) i++;
        s += line[i];
      }
      word = (word ?? '') + s;
    } else if (c === '\\') {
      word = (word ?? '') + line[++i];
    } else if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const unquote = (value: string) => value.replace(/^"(.*)"$/, '$1');

/** The connection an `ssh` command line opens (Ansible's SSH: EXEC line, without ssh_config). */
function connectionOfSshCommand(words: string[], defaultUser: string): Connection {
  const options = new Map<string, string>();
  let address: string | undefined;
  let jump: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    if (word === '-o' || (word.startsWith('-o') && word.length > 2)) {
      const option = word === '-o' ? words[++i]! : word.slice(2);
      const eq = option.search(/[=\s]/);
      const name = option.slice(0, eq).toLowerCase();
      // ssh: the first value given for an option wins.
      if (!options.has(name)) options.set(name, unquote(option.slice(eq + 1).trim()));
    } else if (word === '-J') {
      jump ??= words[++i];
    } else if (/^-[ilpFEcDLRWbemOQSw]$/.test(word)) {
      const value = words[++i]!;
      if (word === '-p' && !options.has('port')) options.set('port', value);
      if (word === '-l' && !options.has('user')) options.set('user', value);
      if (word === '-i' && !options.has('identityfile')) options.set('identityfile', value);
    } else if (word.startsWith('-')) {
      continue;
    } else {
      address = word;
      break;
    }
  }
  const connection: Connection = {
    user: options.get('user') ?? defaultUser,
    address: address ?? '',
    port: Number(options.get('port') ?? 22),
  };
  const key = options.get('identityfile');
  if (key !== undefined) connection.key = key;
  jump ??= options.get('proxyjump');
  if (jump !== undefined) connection.jump = jump;
  return connection;
}

// A play that pings one host at a time: with `serial: 1` each host's result is printed
// before the next host's connection starts. (An ad-hoc `ansible -m ping -f 1` does not
// keep that order: its workers' -vvv lines are printed as they come, its results by the
// main process later, so under load a host's ssh line came before the previous host's
// result and the host was left without a connection.) ignore_unreachable: every host is
// unreachable (/bin/false), and a batch whose hosts all failed would end the play.
const PING_PLAY = '- hosts: all\n  gather_facts: false\n  serial: 1\n  tasks:\n    - ping:\n      ignore_unreachable: true\n';

/**
 * The ping play in a folder of its own, and the arguments without `--playbook-dir`:
 * ansible-playbook has no such option, the playbook's folder is its playbook dir, so
 * that folder gets the given one's group_vars and host_vars (links).
 */
function pingPlaybook(cwd: string, args: string[]): { playbook: string; args: string[] } {
  const folder = mkdtempSync(join(tmpdir(), 'wgplay-ansible-ping-'));
  const at = args.indexOf('--playbook-dir');
  if (at >= 0) {
    const playbookDir = resolve(cwd, args[at + 1]!);
    for (const vars of ['group_vars', 'host_vars']) {
      if (existsSync(join(playbookDir, vars))) symlinkSync(join(playbookDir, vars), join(folder, vars));
    }
  }
  const playbook = join(folder, 'ping.yaml');
  writeFileSync(playbook, PING_PLAY);
  return { playbook, args: at >= 0 ? [...args.slice(0, at), ...args.slice(at + 2)] : args };
}

/**
 * The connection Ansible's ping would open to each of `hosts`, one host at a time (so
 * each host's lines are its own): the ssh command line -vvv prints, run as /bin/false.
 */
export async function ansibleConnections(
  cwd: string,
  args: string[],
  hosts: string[],
  defaultUser: string,
): Promise<Map<string, Connection>> {
  const ping = pingPlaybook(cwd, args);
  const result = await run('ansible-playbook', [...ping.args, '--limit', hosts.join(','), '-vvv', ping.playbook], cwd, ANSIBLE_ENV);
  rmSync(dirname(ping.playbook), { recursive: true, force: true });
  const connections = new Map<string, Connection>();
  let exec: string[] | undefined;
  for (const line of result.stdout.split('\n')) {
    const execMatch = /^<[^>]*> SSH: EXEC (\/bin\/false .*)$/.exec(line);
    if (execMatch && exec === undefined) exec = shellWords(execMatch[1]!);
    const done = /^(?:fatal|ok|changed|failed): \[([^\]]+)\]/.exec(line);
    if (done) {
      if (exec) connections.set(done[1]!, connectionOfSshCommand(exec, defaultUser));
      exec = undefined;
    }
  }
  return connections;
}

/** True for an IPv4 address in 127.0.0.0/8: the only addresses the corpus may ping. */
export function isLoopback(address: string): boolean {
  return isIPv4(address) && address.startsWith('127.');
}

/**
 * The address Ansible's ssh plugin would connect to, from its --list hostvars: only to
 * check, before pinging, that every ping stays on loopback.
 */
export function ansibleAddress(host: string, vars: Record<string, unknown>): string {
  const value = vars.ansible_ssh_host ?? vars.ansible_host ?? host;
  return String(value);
}

/** Every jump host written in ssh arguments: each must be on loopback too. */
export function jumpAddresses(vars: Record<string, unknown>): string[] {
  const args = `${String(vars.ansible_ssh_common_args ?? '')} ${String(vars.ansible_ssh_extra_args ?? '')}`;
  const hops: string[] = [];
  for (const m of args.matchAll(/(?:-J\s*|ProxyJump[=\s]+)(\S+)/g)) {
    for (const hop of m[1]!.split(',')) hops.push(hop.replace(/^[^@]*@/, '').replace(/:\d+$/, ''));
  }
  return hops;
}
