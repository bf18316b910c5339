import { describe, expect, it } from 'vitest';
import type { HostResult } from '../../src/engine/run.js';
import { renderJsonReport } from '../../src/report/json.js';
import { redact, registerSecret } from '../../src/report/redact.js';
import { exitCodeFor } from '../../src/report/summary.js';
import { renderTextReport } from '../../src/report/text.js';

const PRIVATE = 'CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCGA=';

const result = (status: HostResult['status'], diff = ''): HostResult => ({
  host: 'gw',
  status,
  applied: false,
  tasks: [{ name: 'tunnel', module: 'wireguard_interface', changes: diff ? [{ resource: 'file /etc/wireguard/wg-a.conf', action: 'create', diff, steps: [] }] : [] }],
});

describe('secrets never printed', () => {
  it('redacts WireGuard keys in config lines and wg arguments, and registered secrets', () => {
    expect(redact(`PrivateKey = ${PRIVATE}\nPresharedKey=${PRIVATE}`)).toBe('PrivateKey = (redacted)\nPresharedKey=(redacted)');
    expect(redact(`wg set wg-a private-key ${PRIVATE}`)).toBe('wg set wg-a private-key (redacted)');
    expect(redact('wg set wg-a private-key /etc/wireguard/wg-a.key')).toBe('wg set wg-a private-key /etc/wireguard/wg-a.key');
    registerSecret('hunter2-passphrase');
    expect(redact('bad passphrase hunter2-passphrase')).toBe('bad passphrase (redacted)');
  });

  it('in the text and JSON reports, whatever a diff holds', () => {
    const leaky = result('changed', `+PrivateKey = ${PRIVATE}`);
    expect(renderTextReport([leaky], { mode: 'plan', diff: true })).not.toContain(PRIVATE);
    expect(renderJsonReport([{ ...leaky, error: `failed: private-key ${PRIVATE}` }], 'plan', 2)).not.toContain(PRIVATE);
  });
});

describe('exit codes', () => {
  it('add up: 1 failed or cancelled, 2 pending (plan only), 4 unreachable', () => {
    expect(exitCodeFor([result('ok')], 'plan')).toBe(0);
    expect(exitCodeFor([result('ok'), result('changed', 'x')], 'plan')).toBe(2);
    expect(exitCodeFor([result('changed', 'x')], 'apply')).toBe(0);
    expect(exitCodeFor([result('changed', 'x'), result('unreachable')], 'plan')).toBe(6);
    expect(exitCodeFor([result('changed', 'x'), result('unreachable')], 'apply')).toBe(4);
    expect(exitCodeFor([result('unreachable'), result('failed')], 'apply')).toBe(5);
    expect(exitCodeFor([result('changed', 'x'), result('failed')], 'plan')).toBe(3);
    expect(exitCodeFor([result('cancelled')], 'apply')).toBe(1);
    expect(exitCodeFor([result('failed'), result('changed', 'x'), result('unreachable')], 'plan')).toBe(7);
  });
});
