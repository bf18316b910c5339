// The apply script's helpers for WireGuard interfaces (src/engine/compile.ts's prelude),
// run for real by bash without root: the keys it generates are checked with the real
// `wg pubkey`; `ip`, `wg` and `wireguard-go` are stand-ins on PATH that write down how
// they were called (no interface or daemon is made on this machine), and the host's
// /run/wgplay is a scratch folder.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileApplyScript } from '../../src/engine/compile.js';
import { STATE_DIR } from '../../src/engine/hostPaths.js';
import type { Step } from '../../src/tasks/types.js';

let dir = '';
const journal = () => readFileSync(join(dir, 'journal'), 'utf8').trimEnd().split('\n');

function tool(name: string, body: string) {
  writeFileSync(join(dir, 'bin', name), `#!/bin/bash\n${body}\n`);
  chmodSync(join(dir, 'bin', name), 0o755);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgplay-helpers-'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'journal'), '');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The apply script of these steps (one phase each, in order), run with the stand-ins. */
function apply(steps: Step[]) {
  const script = compileApplyScript([{ resource: 'r', action: 'create', diff: '', steps }]).replaceAll(STATE_DIR, join(dir, 'run'));
  const ran = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, JOURNAL: join(dir, 'journal'), SHLVL: '2' } });
  return { code: ran.status, stdout: ran.stdout, stderr: ran.stderr };
}
const shell = (phase: Step['phase'], script: string): Step => ({ kind: 'shell', phase, script }) as Step;

describe('generated WireGuard keys', () => {
  it('are valid private keys, one per file, all different, as `wg pubkey` reads them', () => {
    const files = Array.from({ length: 5 }, (_, index) => join(dir, `wg-${index}.key`));
    const result = apply([shell('prepare', `${files.map((file) => `wgplay_new_keys+=(${file})`).join('\n')}\nwgplay_genkeys`)]);
    expect(result.code, result.stderr).toBe(0);
    const keys = files.map((file) => readFileSync(file, 'utf8'));
    expect(new Set(keys).size).toBe(5);
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      const bytes = Buffer.from(key.trim(), 'base64');
      expect(bytes).toHaveLength(32);
      // Clamped for X25519, as `wg genkey` does.
      expect(bytes[0]! & 7).toBe(0);
      expect(bytes[31]! & 0xc0).toBe(0x40);
      expect(execFileSync('wg', ['pubkey'], { input: key, encoding: 'utf8' })).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    }
  });

  it('are none when none are asked for', () => {
    const result = apply([shell('prepare', 'wgplay_genkeys\necho "keys left: ${#wgplay_new_keys[@]}" >> "$JOURNAL"')]);
    expect(result.code, result.stderr).toBe(0);
    expect(journal()).toEqual(['keys left: 0']);
  });
});

describe('new WireGuard interfaces', () => {
  const logIp = 'echo "ip $*" >> "$JOURNAL"; [ "$1" != -batch ] || sed "s/^/  /" >> "$JOURNAL"';
  const links = (...names: string[]) => shell('links', `${names.map((name) => `wgplay_new_links+=(${name})`).join('\n')}\nwgplay_create_links`);

  it('are made in the kernel when it has WireGuard: the first alone (the test), the others in one batch', () => {
    tool('ip', logIp);
    const result = apply([links('wg-a', 'wg-b', 'wg-c')]);
    expect(result.code, result.stderr).toBe(0);
    expect(journal()).toEqual(['ip link add dev wg-a type wireguard', 'ip -batch -', '  link add dev wg-b type wireguard', '  link add dev wg-c type wireguard']);
  });

  it('are persistent TUNs in one batch when the kernel has no WireGuard (wireguard-go attaches later)', () => {
    tool('ip', `${logIp}\n[ "$*" != 'link add dev wg-a type wireguard' ]`);
    const result = apply([links('wg-a', 'wg-b')]);
    expect(result.code, result.stderr).toBe(0);
    expect(journal()).toEqual(['ip link add dev wg-a type wireguard', 'ip -batch -', '  tuntap add dev wg-a mode tun', '  tuntap add dev wg-b mode tun']);
  });

  it('in the kernel get their port, key and peers by one `wg set`, whose error is the apply\'s', () => {
    tool('ip', logIp);
    tool('wg', 'echo "wg $*" >> "$JOURNAL"; [ "$2" != wg-b ] || { echo "Unable to modify interface: Invalid argument" >&2; exit 1; }');
    const ok = apply([links('wg-a'), shell('wireguard', 'wgplay_wg_up new wg-a - listen-port 51821 private-key /k')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(journal()).toContain('wg set wg-a listen-port 51821 private-key /k');
    const failed = apply([links('wg-b'), shell('wireguard', 'wgplay_wg_up new wg-b - listen-port 51822')]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('Unable to modify interface: Invalid argument');
  });

  it("on a TUN start their wireguard-go daemon, set the MTU after it, and report a daemon's own words when it fails, without its banner", () => {
    tool('ip', `${logIp}\n[ "$*" != 'link add dev wg-a type wireguard' ]`);
    tool('wg', 'echo "wg $*" >> "$JOURNAL"');
    tool(
      'wireguard-go',
      'echo "wireguard-go $* LOG_LEVEL=$LOG_LEVEL" >> "$JOURNAL"\n[ "$1" = wg-bad ] || exit 0\nprintf "┌───┐\\n│ banner │\\n└───┘\\nFailed to listen on uapi socket: too many open files\\n"; exit 1',
    );
    const result = apply([links('wg-a', 'wg-bad'), shell('wireguard', 'wgplay_wg_up tun wg-a 1380 listen-port 51821\nwgplay_wg_up tun wg-bad - listen-port 51822\nwgplay_wg_wait')]);
    expect(result.code).not.toBe(0);
    expect(journal()).toEqual(
      expect.arrayContaining(['wireguard-go wg-a LOG_LEVEL=error', 'ip link set dev wg-a mtu 1380', 'wg set wg-a listen-port 51821', 'wireguard-go wg-bad LOG_LEVEL=error']),
    );
    // The MTU of wg-bad (`-`: the default) is not set, and its port never reached wg.
    expect(journal().filter((line) => line.includes('wg-bad') && !line.startsWith('wireguard-go') && !line.startsWith('  '))).toEqual([]);
    expect(result.stderr).toBe('wireguard-go wg-bad said:\nFailed to listen on uapi socket: too many open files\n');
  });
});
