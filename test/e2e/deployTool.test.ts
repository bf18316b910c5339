// examples/deploy-tool, built as a strict TypeScript project against wgplay's published
// types and run as its users would, against a lab host: the gateway from objects,
// planned with its summary, applied with progress; Ctrl-C at the confirmation changes
// nothing.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from './harness.js';

const EXAMPLE = new URL('../../examples/deploy-tool/', import.meta.url).pathname;
const TSC = new URL('../../node_modules/typescript/bin/tsc', import.meta.url).pathname;

let host: TestHost;

interface ToolRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built tool; `onOutput` sees stdout as it grows (and may signal the tool). */
function deployTool(extra: string[], onOutput?: (stdout: string, child: ReturnType<typeof spawn>) => void): Promise<ToolRun> {
  const args = [
    `${EXAMPLE}dist/deploy.js`,
    '--host', host.ssh.host,
    '--port', String(host.ssh.port),
    '--key', host.ssh.privateKeyPath,
    '--known-hosts', host.ssh.knownHostsPath,
    '--public-interface', 'mgmt0',
    ...extra,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      onOutput?.(stdout, child);
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The gateway's state as an operator would compare it (never a private key). */
const snapshot = () =>
  host.run('nft list ruleset; ip rule; ip -4 route show table all; wg show all public-key; wg show all allowed-ips; ls -la /etc/wireguard /var/lib/wgplay 2>&1 || true');

beforeAll(async () => {
  // Built the way a deploy tool's own project builds: strict, against dist/'s declarations.
  await promisify(execFile)(process.execPath, [TSC, '-p', EXAMPLE]);
  host = await startTestHost({ name: 'deploy' });
});

afterAll(async () => {
  await host?.destroy();
});

describe('examples/deploy-tool', () => {
  it('plans, prints the summary, applies with progress, and the gateway is there; a second run has nothing to do', async () => {
    const run = await deployTool(['--yes']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const planned = run.stdout.match(/^ {2}total: (\d+) to create, (\d+) to change, 0 to delete$/m);
    expect(planned, run.stdout).not.toBeNull();
    expect(Number(planned![1])).toBeGreaterThan(10);
    expect(run.stdout).toContain('[gateway] apply\n');
    expect(run.stdout).toContain('[gateway] verify\n');
    expect(run.stdout).toContain("[gateway] gateway / customer acme: interface wg-acme: changed\n");
    expect(run.stdout).toMatch(new RegExp(`^ {2}total: ${planned![1]} created, ${planned![2]} changed, 0 deleted$`, 'm'));
    expect((await host.run('wg show interfaces')).trim().split(/\s+/).sort()).toEqual(['wg-acme', 'wg-globex']);
    expect(await host.run('nft list tables')).toMatch(/wgplay_nat/);

    const again = await deployTool(['--yes']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to do\n');
  });

  it('Ctrl-C at the confirmation: nothing is applied, the gateway is unchanged', async () => {
    // A customer's rule removed by hand: the tool has something to do again.
    const rule = (await host.run('ip rule show from 10.200.200.0/24')).split('\n')[0]!;
    expect(rule).toMatch(/^\d+:\s+from 10\.200\.200\.\d+ lookup \d+$/);
    await host.run(`ip rule del priority ${rule.split(':')[0]}`);
    const before = await snapshot();
    let interrupted = false;
    const run = await deployTool([], (stdout, child) => {
      if (!interrupted && stdout.includes('apply these changes? [y/N]')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    expect(interrupted).toBe(true);
    expect(run.stdout).toMatch(/^ {2}total: 1 to create, 0 to change, 0 to delete$/m);
    expect(run.stdout).toContain('not applied: nothing was changed');
    expect(run.code).toBe(130);
    expect(run.stdout).not.toContain('[gateway] apply');
    expect(await snapshot()).toBe(before);
  });
});
