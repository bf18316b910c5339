// Ctrl-C (SIGINT) to the CLI before any apply script started: nothing changed, a clear
// message, exit 130, at once. The only host is a loopback listener that accepts and
// never speaks SSH, so the run is held in its connect phase for as long as the test likes.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePlaybook } from './wgplayCli.js';

const BIN = new URL('../../bin/wgplay.js', import.meta.url).pathname;
let server: Server;
let port = 0;
const held: Socket[] = [];

function sigintDuringConnect(args: string[]): Promise<{ code: number | null; stderr: string; afterSignalMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sentAt = 0;
    child.stdout.resume();
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (!sentAt && /\[stalled\] connect/.test(stderr)) {
        sentAt = Date.now();
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, afterSignalMs: sentAt ? Date.now() - sentAt : -1 }));
  });
}

describe('Ctrl-C', () => {
  beforeAll(async () => {
    server = createServer((socket) => held.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => {
    for (const socket of held) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('before the apply script starts: says nothing was changed and exits 130', async () => {
    const playbook = writePlaybook([{ name: 'p', hosts: 'all', tasks: [{ name: 'forwarding', sysctl: { key: 'net.ipv4.ip_forward', value: '1' } }] }]);
    const key = join(dirname(playbook), 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const inventory = join(dirname(playbook), 'inventory.yaml');
    writeFileSync(inventory, `all:\n  hosts:\n    stalled:\n      ansible_host: 127.0.0.1\n      ansible_port: ${port}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${key}\n`);
    for (const command of ['apply', 'plan']) {
      const result = await sigintDuringConnect([command, playbook, '-i', inventory]);
      expect(result.afterSignalMs, result.stderr).toBeGreaterThanOrEqual(0);
      expect(result.code, result.stderr).toBe(130);
      expect(result.stderr).toContain('interrupted before any apply script started: nothing was changed on any host');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
