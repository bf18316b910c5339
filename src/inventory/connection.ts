import { homedir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { WgplayError } from '../errors.js';
import { shellSplit } from './shellWords.js';
import { expandTokens, sshConfigFor, sshConfigPath, type SshConfigValues } from './sshConfig.js';
import type { ConnectionSettings, HostKeyPolicy, InventoryHost, JumpHost } from './types.js';

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
function ansibleBoolean(value: unknown): boolean | undefined {
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
    case 'wgplay_ssh_config':
      return nonEmptyString(name, value, 'the path of an ssh_config file');
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
    case 'ansible_ssh_common_args':
    case 'ansible_ssh_extra_args':
      if (typeof value !== 'string') return `${name} must be a string of ssh options, not ${describe(value)}`;
      try {
        sshArgs(value);
        return undefined;
      } catch (e) {
        return `${name}: ${(e as Error).message}`;
      }
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

/** What wgplay takes from ssh options written for OpenSSH: ProxyJump and host key settings. */
interface SshArgs {
  jump?: string;
  /** -F FILE: the ssh_config to read. */
  configFile?: string;
  strictHostKeyChecking?: string;
  userKnownHostsFile?: string;
}

const OPTIONS_WITH_VALUE = /^-[bcDEeFIiLlmOoPpQRSWw]$/;

/**
 * ansible_ssh_common_args / ansible_ssh_extra_args as ssh reads them (the first value
 * of an option wins). ProxyJump (-J, -o ProxyJump=) is followed; ProxyCommand, which
 * would run a program, is refused; other options are ignored.
 */
function sshArgs(text: string): SshArgs {
  let words: string[];
  try {
    words = shellSplit(text, false);
  } catch (e) {
    throw new Error(`cannot read ${JSON.stringify(text)}: ${(e as Error).message}`);
  }
  const out: SshArgs = {};
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '-J' || (word.startsWith('-J') && word.length > 2)) {
      const value = word === '-J' ? words[++i] : word.slice(2);
      if (!value) throw new Error('-J needs a jump host ([user@]host[:port])');
      out.jump ??= value;
    } else if (word === '-o' || (word.startsWith('-o') && word.length > 2)) {
      const option = word === '-o' ? words[++i] : word.slice(2);
      if (!option) throw new Error('-o needs an option (-o ProxyJump=host)');
      const m = /^\s*(\w+)\s*(?:=|\s)\s*(.*)$/.exec(option);
      if (!m) throw new Error(`"-o ${option}" is not an option=value`);
      const key = m[1]!.toLowerCase();
      const value = m[2]!.trim();
      if (key === 'proxyjump') out.jump ??= value;
      else if (key === 'proxycommand') throw new Error('ProxyCommand is not supported (it runs a program): use ProxyJump (-J host)');
      else if (key === 'stricthostkeychecking') out.strictHostKeyChecking ??= value.toLowerCase();
      else if (key === 'userknownhostsfile') out.userKnownHostsFile ??= value;
    } else if (word === '-F') {
      out.configFile ??= words[++i];
    } else if (OPTIONS_WITH_VALUE.test(word)) {
      i++;
    }
  }
  if (out.strictHostKeyChecking !== undefined && !['yes', 'ask', 'accept-new'].includes(out.strictHostKeyChecking)) {
    throw new Error(`StrictHostKeyChecking=${out.strictHostKeyChecking} is not supported: wgplay always checks host keys (use accept-new to trust a first key)`);
  }
  return out;
}

/** "[user@]host[:port]" or "[user@][v6addr]:port", one ProxyJump hop. */
export function parseJumpSpec(spec: string): { user?: string; address: string; port: number } {
  const m = /^(?:([^@\s]+)@)?(?:\[([^\]]+)\]|([^:@\s[\]]+))(?::(\d+))?$/.exec(spec.trim());
  if (!m) throw new Error(`"${spec}" is not a jump host ([user@]host[:port])`);
  const port = m[4] === undefined ? 22 : Number(m[4]);
  if (port < 1 || port > 65535) throw new Error(`jump host "${spec}": port ${port} is not from 1 to 65535`);
  return { ...(m[1] ? { user: m[1] } : {}), address: m[2] ?? m[3]!, port };
}

/** "~" and "~/x" expanded to the home directory; relative paths made absolute (cwd). */
function expandPath(path: string, home: string = homedir()): string {
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

/** The ssh_config policy word as wgplay's; "no"/"off" refused (wgplay always checks host keys). */
function policyOf(word: string | undefined, where: string): HostKeyPolicy | undefined {
  if (word === undefined) return undefined;
  if (word === 'accept-new') return 'accept-new';
  if (word === 'yes' || word === 'ask') return 'strict';
  throw new WgplayError([
    { where, message: `StrictHostKeyChecking ${word} is not supported: wgplay always checks host keys (use accept-new to trust a first key)` },
  ]);
}

/**
 * How to reach `host`, from its merged variables and the ssh_config (wgplay_ssh_config,
 * or ~/.ssh/config): as with Ansible, which passes its variables to ssh as options,
 * the inventory wins and ssh_config fills in what it leaves out. Throws WgplayError.
 */
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
  const home = homedir();
  const local = currentUser();
  const address = pick(v, 'ansible_host');
  const p = pick(v, 'ansible_port');
  const user = pick(v, 'ansible_user');
  const key = pick(v, 'ansible_ssh_private_key_file');
  const knownHosts = pick(v, 'wgplay_known_hosts_file');
  const become = pick(v, 'ansible_become');
  const namedConfig = pick(v, 'wgplay_ssh_config');
  const args = [v.ansible_ssh_common_args, v.ansible_ssh_extra_args].filter((a): a is string => typeof a === 'string').map(sshArgs);
  const first = <K extends keyof SshArgs>(k: K) => args.find((a) => a[k] !== undefined)?.[k];

  const destination = typeof address === 'string' ? address.trim() : host.name;
  const configFile = sshConfigPath(typeof namedConfig === 'string' ? expandPath(namedConfig) : first('configFile') && expandPath(first('configFile')!), home);
  const lookup = (name: string): SshConfigValues => {
    if (!configFile) return { identityFiles: [] };
    try {
      return sshConfigFor(configFile, name);
    } catch (e) {
      throw new WgplayError([{ where: configFile, message: (e as Error).message }]);
    }
  };
  const config = lookup(destination);
  const where = configFile ?? `host ${host.name}`;
  if (config.proxyCommand && !config.proxyJump && first('jump') === undefined && config.proxyCommand.toLowerCase() !== 'none') {
    throw new WgplayError([{ where, message: `host ${host.name}: ProxyCommand is not supported (it runs a program): use ProxyJump` }]);
  }
  const configPort = config.port === undefined ? undefined : port(config.port);
  if (config.port !== undefined && configPort === undefined) {
    throw new WgplayError([{ where, message: `host ${host.name}: Port ${config.port} is not a port number` }]);
  }
  const finalPort = p === undefined ? (configPort ?? 22) : (port(p) as number);
  const finalUser = typeof user === 'string' ? user : config.user ? expandTokens(config.user, { h: destination, d: home, u: local, r: local }) : local;
  const tokens = { h: destination, d: home, u: local, r: finalUser };
  const knownHostsOf = (c: SshConfigValues) =>
    typeof knownHosts === 'string'
      ? expandPath(knownHosts)
      : first('userKnownHostsFile') !== undefined
        ? expandPath(first('userKnownHostsFile')!)
        : c.userKnownHostsFile !== undefined
          ? expandPath(expandTokens(c.userKnownHostsFile, tokens), home)
          : join(home, '.ssh', 'known_hosts');
  const policyFor = (c: SshConfigValues): HostKeyPolicy =>
    (pick(v, 'wgplay_host_key_policy') as HostKeyPolicy | undefined) ??
    policyOf(first('strictHostKeyChecking'), `host ${host.name}`) ??
    policyOf(c.strictHostKeyChecking, where) ??
    'strict';
  const configKey = config.identityFiles[0];
  const privateKeyFile =
    typeof key === 'string' ? expandPath(key) : configKey !== undefined ? expandPath(expandTokens(configKey, tokens), home) : undefined;

  const jump = first('jump') ?? config.proxyJump;
  let jumpHosts: JumpHost[] | undefined;
  if (jump !== undefined && jump.toLowerCase() !== 'none') {
    jumpHosts = jump.split(',').map((spec) => {
      let hop: ReturnType<typeof parseJumpSpec>;
      try {
        hop = parseJumpSpec(spec);
      } catch (e) {
        throw new WgplayError([{ where: `host ${host.name}`, message: `ProxyJump: ${(e as Error).message}` }]);
      }
      // Each hop is a destination of its own for ssh_config (its HostName, User, Port, key).
      const hc = lookup(hop.address);
      const hopUser = hop.user ?? hc.user ?? local;
      const hopTokens = { h: hop.address, d: home, u: local, r: hopUser };
      const hopKey = hc.identityFiles[0];
      return {
        spec,
        address: hc.hostname ? expandTokens(hc.hostname, hopTokens) : hop.address,
        port: spec.match(/:\d+$/) ? hop.port : hc.port !== undefined ? (port(hc.port) ?? 22) : 22,
        user: hopUser,
        ...(hopKey !== undefined ? { privateKeyFile: expandPath(expandTokens(hopKey, hopTokens), home) } : {}),
        knownHostsFile: knownHostsOf(hc),
        hostKeyPolicy: policyFor(hc),
      };
    });
  }
  return {
    host: host.name,
    kind: pick(v, 'ansible_connection') === 'local' ? 'local' : 'ssh',
    address: config.hostname ? expandTokens(config.hostname, tokens) : destination,
    port: finalPort,
    user: finalUser,
    privateKeyFile,
    become: become === undefined ? false : (ansibleBoolean(become) as boolean),
    becomeUser: 'root',
    knownHostsFile: knownHostsOf(config),
    hostKeyPolicy: policyFor(config),
    ...(jumpHosts ? { jumpHosts } : {}),
  };
}
