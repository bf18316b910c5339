// vitest globalSetup of `npm test`: the suite needs root and the Debian packages
// scripts/install-deps.sh installs, and no test skips when they are missing (a skipped
// test proves nothing). Without them the run stops here with one message saying what is
// missing, instead of dozens of failures.
import { existsSync } from 'node:fs';

const TOOLS = [
  '/usr/bin/ssh',
  '/usr/bin/ssh-keygen',
  '/usr/bin/ssh-agent',
  '/usr/sbin/sshd',
  '/usr/bin/unshare',
  '/usr/bin/ansible-inventory',
  '/usr/bin/ansible',
  '/usr/bin/wireguard-go',
  '/usr/bin/wg',
  '/usr/sbin/nft',
  '/usr/bin/socat',
  '/usr/bin/curl',
];

export default function preflight(): void {
  const missing = TOOLS.filter((tool) => !existsSync(tool));
  const root = process.getuid?.() === 0;
  if (root && missing.length === 0) return;
  throw new Error(
    `npm test needs ${[root ? '' : 'root', missing.length ? `${missing.join(', ')}` : ''].filter(Boolean).join(' and ')}: ` +
      'run it as root after scripts/install-deps.sh (README: "Two commands on a fresh Debian machine")',
  );
}
