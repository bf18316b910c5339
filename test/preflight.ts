// vitest globalSetup of `npm test`: the suite needs root and the Debian packages
// scripts/install-deps.sh installs, and no test skips when they are missing (a skipped
// test proves nothing). Without them the run stops here with one message saying what is
// missing, instead of dozens of failures.
//
// It also gives the run its own cache folder (XDG_CACHE_HOME, inherited by the test
// workers and every wgplay they start), so the suite never writes the user's
// ~/.cache/wgplay (the nft texts already accepted, src/engine/nftCheck.ts).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';

const TOOLS = [
  '/usr/bin/ssh',
  '/usr/bin/ssh-keygen',
  '/usr/bin/ssh-agent',
  '/usr/sbin/sshd',
  '/usr/bin/unshare',
  '/usr/bin/ansible-inventory',
  '/usr/bin/ansible',
  '/usr/bin/ansible-playbook',
  '/usr/bin/wireguard-go',
  '/usr/bin/wg',
  '/usr/sbin/nft',
  '/usr/bin/socat',
  '/usr/bin/curl',
];

export default function preflight(): () => void {
  const missing = TOOLS.filter((tool) => !existsSync(tool));
  const root = process.getuid?.() === 0;
  if (root && missing.length === 0) {
    const cache = mkdtempSync('/tmp/wgplay-test-cache-');
    process.env.XDG_CACHE_HOME = cache;
    return () => rmSync(cache, { recursive: true, force: true });
  }
  throw new Error(
    `npm test needs ${[root ? '' : 'root', missing.length ? `${missing.join(', ')}` : ''].filter(Boolean).join(' and ')}: ` +
      'run it as root after scripts/install-deps.sh (README: "Two commands on a fresh Debian machine")',
  );
}
