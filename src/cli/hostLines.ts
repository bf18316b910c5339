import type { ConnectionSettings } from '../inventory/types.js';

// What -v / -vv and --list-hosts print: read by an operator before anything happens.

/** "admin@127.0.0.1:2202 via jump@bastion:22, key ~/.ssh/id" (never a passphrase). */
export function describeConnection(c: ConnectionSettings, verbosity: number): string {
  if (c.kind === 'local') return `${c.host}: local (bash on this machine)${c.become ? ', become root with sudo -n' : ''}`;
  const parts = [`${c.host}: ssh ${c.user}@${c.address}:${c.port}`];
  if (c.jumpHosts?.length) parts.push(`via ${c.jumpHosts.map((j) => `${j.user}@${j.address}:${j.port}`).join(' -> ')}`);
  parts.push(c.privateKeyFile ? `key ${c.privateKeyFile}` : 'key from ssh-agent');
  if (verbosity >= 2) {
    parts.push(`known_hosts ${c.knownHostsFile} (${c.hostKeyPolicy})`);
    parts.push(c.become ? 'become root with sudo -n' : 'no become');
  }
  return parts.join(', ');
}

/** --list-hosts: each play and the hosts it would run on. */
export function listHosts(plays: { name: string; pattern: string; hosts: string[] }[]): string {
  return plays
    .map((play) => `play "${play.name}" (hosts: ${play.pattern}): ${play.hosts.length} host(s)\n${play.hosts.map((h) => `  ${h}\n`).join('')}`)
    .join('');
}
