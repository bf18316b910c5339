import { homedir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { WgplayError } from '../errors.js';
import type { ConnectionSettings, HostKeyPolicy, InventoryHost } from './types.js';

// The host variables wgplay reads to reach a host: Ansible's connection variables
// (with their older ansible_ssh_* aliases) plus wgplay_*. Checked where they are
// written (load.ts), so an inventory with a wrong one is refused before any host is
// contacted.

/** Variables that hold secrets wgplay refuses to use, and why. Values are never shown. */
const UNSUPPORTED: Record<string, string> = {
  ansible_ssh_pass:
    'wgplay does not log in with passwords: use a key (ansible_ssh_private_key_file) or ssh-agent',
  ansible_ssh_password:
    'wgplay does not log in with passwords: use a key (ansible_ssh_private_key_file) or ssh-agent',
  ansible_password:
    'wgplay does not log in with passwords: use a key (ansible_ssh_private_key_file) or ssh-agent',
  ansible_become_pass:
    'wgplay runs `sudo -n`, which takes no password: allow the user passwordless sudo (NOPASSWD) or connect as root',
  ansible_become_password:
    'wgplay runs `sudo -n`, which takes no password: allow the user passwordless sudo (NOPASSWD) or connect as root',
  ansible_sudo_pass:
    'wgplay runs `sudo -n`, which takes no password: allow the user passwordless sudo (NOPASSWD) or connect as root',
};

// Ansible reads a connection setting from the host's merged variables, whatever level
// each was written at: its ssh plugin lists the names of each option (`vars:`) and the
// LAST one defined wins, so ansible_ssh_user beats ansible_user even when ansible_user
// is written closer to the host. Lowest priority first.
const SOURCES: Record<string, readonly string[]> = {
  ansible_host: ['ansible_host', 'ansible_ssh_host'],
  ansible_port: ['ansible_port', 'ansible_ssh_port'],
  ansible_user: ['ansible_user', 'ansible_ssh_user'],
  ansible_ssh_private_key_file: ['ansible_private_key_file', 'ansible_ssh_private_key_file'],
};

const ALIASES: Record<string, string> = Object.fromEntries(
  Object.entries(SOURCES).flatMap(([canonical, names]) => names.map((name) => [name, canonical])),
);

const BOOLEAN_WORDS: Record<string, boolean> = {
  yes: true, on: true, true: true, y: true, '1': true,
  no: false, off: false, false: false, n: false, '0': false,
};

/** Ansible's boolean(): true/false, yes/no, on/off, 1/0 (any case). */
export function ansibleBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && (value === 0 || value === 1)) return value === 1;
  if (typeof value === 'string') return BOOLEAN_WORDS[value.trim().toLowerCase()];
  return undefined;
}

function port(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function nonEmptyString(name: string, value: unknown, what: string): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    return `${name} must be ${what} (a non-empty string), not ${describe(value)}`;
  }
  if (value.includes('{{') || value.includes('{%')) {
    return `${name}: templates are not supported in connection variables (got ${JSON.stringify(value)})`;
  }
  return undefined;
}

/**
 * The problem with one variable as written at some level of the inventory, or
 * undefined when wgplay accepts it (or does not read it).
 */
export function checkConnectionVar(name: string, value: unknown): string | undefined {
  if (name in UNSUPPORTED) return `${name} is not supported (${UNSUPPORTED[name]})`;
  const canonical = ALIASES[name] ?? name;
  switch (canonical) {
    case 'ansible_host':
      if (typeof value === 'string' && /\s/.test(value.trim())) {
        return `${name} must be one address or DNS name, not ${JSON.stringify(value)}`;
      }
      return nonEmptyString(name, value, 'an address or DNS name');
    case 'ansible_port':
      return port(value) === undefined
        ? `${name} must be a port number from 1 to 65535, not ${describe(value)}`
        : undefined;
    case 'ansible_user':
      return nonEmptyString(name, value, 'a user name');
    case 'ansible_ssh_private_key_file':
      return nonEmptyString(name, value, 'the path of a private key file');
    case 'wgplay_known_hosts_file':
      return nonEmptyString(name, value, 'the path of a known_hosts file');
    case 'ansible_become':
      return ansibleBoolean(value) === undefined
        ? `${name} must be a boolean (true/false, yes/no), not ${describe(value)}`
        : undefined;
    case 'ansible_become_user':
      if (typeof value !== 'string') return `${name} must be a user name, not ${describe(value)}`;
      return value === 'root'
        ? undefined
        : `${name}: only root is supported (wgplay changes network configuration as root), not ${JSON.stringify(value)}`;
    case 'ansible_become_method':
      return value === 'sudo'
        ? undefined
        : `${name}: only sudo is supported, not ${describe(value)}`;
    case 'ansible_connection':
      return value === 'ssh' || value === 'local'
        ? undefined
        : `${name} must be "ssh" or "local", not ${describe(value)}`;
    case 'wgplay_host_key_policy':
      return value === 'strict' || value === 'accept-new'
        ? undefined
        : `${name} must be "strict" or "accept-new", not ${describe(value)}`;
    default:
      return undefined;
  }
}

/** The setting `name` from merged vars: its highest-priority name that is defined (not null). */
function pick(vars: Record<string, unknown>, name: string): unknown {
  const names = SOURCES[name] ?? [name];
  for (let i = names.length - 1; i >= 0; i--) {
    const value = vars[names[i]!];
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

/** "~" and "~/x" expanded to the home directory; relative paths made absolute (cwd). */
export function expandPath(path: string, home: string = homedir()): string {
  let p = path.trim();
  if (p === '~') p = home;
  else if (p.startsWith('~/')) p = join(home, p.slice(2));
  return isAbsolute(p) ? p : resolve(p);
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}

/** How to reach `host`, from its merged variables. Throws WgplayError on a bad one. */
export function connectionOf(host: InventoryHost): ConnectionSettings {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(host.vars)) {
    const problem = checkConnectionVar(name, value);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) {
    throw new WgplayError(problems.map((message) => ({ where: `host ${host.name}`, message })));
  }
  const v = host.vars;
  const address = pick(v, 'ansible_host');
  const p = pick(v, 'ansible_port');
  const user = pick(v, 'ansible_user');
  const key = pick(v, 'ansible_ssh_private_key_file');
  const knownHosts = pick(v, 'wgplay_known_hosts_file');
  const become = pick(v, 'ansible_become');
  return {
    host: host.name,
    kind: pick(v, 'ansible_connection') === 'local' ? 'local' : 'ssh',
    address: typeof address === 'string' ? address.trim() : host.name,
    port: p === undefined ? 22 : (port(p) as number),
    user: typeof user === 'string' ? user : currentUser(),
    privateKeyFile: typeof key === 'string' ? expandPath(key) : undefined,
    become: become === undefined ? false : (ansibleBoolean(become) as boolean),
    becomeUser: 'root',
    knownHostsFile:
      typeof knownHosts === 'string'
        ? expandPath(knownHosts)
        : join(homedir(), '.ssh', 'known_hosts'),
    hostKeyPolicy: (pick(v, 'wgplay_host_key_policy') as HostKeyPolicy | undefined) ?? 'strict',
  };
}
