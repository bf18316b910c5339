import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import SSHConfig from 'ssh-config';

// ~/.ssh/config (or wgplay_ssh_config / -F FILE), read with the ssh-config package the
// way ssh reads it for one destination: the first value of each option wins, Host
// patterns with * ? and !, IdentityFile accumulating. Match exec is never run.

export interface SshConfigValues {
  hostname?: string;
  port?: string;
  user?: string;
  identityFiles: string[];
  userKnownHostsFile?: string;
  strictHostKeyChecking?: string;
  proxyJump?: string;
  proxyCommand?: string;
}

const cache = new Map<string, SSHConfig>();

/** The file wgplay reads: the one named, or ~/.ssh/config when it exists. */
export function sshConfigPath(named: string | undefined, home: string = homedir()): string | undefined {
  if (named !== undefined) return named;
  const path = `${home}/.ssh/config`;
  return existsSync(path) ? path : undefined;
}

function parsed(path: string): SSHConfig {
  let config = cache.get(path);
  if (!config) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? 'ssh_config file not found' : `cannot read the ssh_config file: ${(e as Error).message}`);
    }
    config = SSHConfig.parse(text);
    cache.set(path, config);
  }
  return config;
}

/** What `path` says for the destination `host` (as given to ssh: ansible_host or the inventory name). */
export function sshConfigFor(path: string, host: string): SshConfigValues {
  const computed = parsed(path).compute(host, { ignoreCase: true, matchExec: false }) as Record<string, string | string[]>;
  const one = (name: string) => {
    const value = computed[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const identity = computed.identityfile;
  return {
    hostname: one('hostname'),
    port: one('port'),
    user: one('user'),
    identityFiles: identity === undefined ? [] : Array.isArray(identity) ? identity : [identity],
    userKnownHostsFile: one('userknownhostsfile')?.split(/\s+/)[0],
    strictHostKeyChecking: one('stricthostkeychecking')?.toLowerCase(),
    proxyJump: one('proxyjump'),
    proxyCommand: one('proxycommand'),
  };
}

/** ssh_config's tokens in paths and names: %h (host), %d (home), %u (local user), %r (remote user), %%. */
export function expandTokens(text: string, tokens: { h: string; d: string; u: string; r: string }): string {
  return text.replace(/%([hdur%])/g, (_, t: string) => (t === '%' ? '%' : tokens[t as 'h' | 'd' | 'u' | 'r']));
}
