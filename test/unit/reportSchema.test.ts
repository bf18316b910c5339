// docs/report.schema.json against reports rendered by the real report code; the
// end-to-end tests validate every report the CLI prints against it too.
import { describe, expect, it } from 'vitest';
import type { HostResult } from '../../src/engine/run.js';
import { buildRunReport, renderJsonErrors } from '../../src/report/json.js';
import { exitCodeFor } from '../../src/report/summary.js';
import { renderTextReport } from '../../src/report/text.js';
import type { Change } from '../../src/tasks/types.js';
import { reportSchemaErrors } from '../reportSchema.js';

const change = (action: Change['action'], resource: string): Change => ({ resource, action, diff: `${action === 'delete' ? '-' : '+'} ${resource}`, steps: [] });

const gw1: HostResult = {
  host: 'gw1',
  status: 'changed',
  applied: false,
  tasks: [
    { name: 'rule', module: 'ip_rule', origin: 'play.yaml:5:7', changes: [change('create', 'ip rule from 10.0.0.2 table 41')] },
    { name: 'file', module: 'file', changes: [change('update', 'file /etc/x'), change('create', 'file /etc/y')] },
    { name: 'old', module: 'ip_route', changes: [change('delete', 'ip route 10.1.0.0/24')] },
    { name: 'same', module: 'sysctl', changes: [] },
  ],
};
const gw2: HostResult = { host: 'gw2', status: 'unreachable', applied: false, tasks: [], error: 'connection refused by 127.0.0.1:1' };
const gw3: HostResult = { host: 'gw3', status: 'failed', applied: false, tasks: [], drift: ['- rule inet 100 from 10.0.0.2 table 41', '+ (none)'] };

describe('the JSON report, format 1', () => {
  it('counts creations, changes and deletions per host and in total, and follows the schema', () => {
    const results = [gw1, gw2, gw3];
    const report = buildRunReport(results, 'plan', exitCodeFor(results, 'plan'));
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report).toMatchObject({ format: 1, command: 'plan', exitCode: 7 });
    expect(report.hosts[0]!.summary).toMatchObject({ create: 2, change: 1, delete: 1, changes: 4, changedTasks: 3, tasks: 4 });
    expect(report.summary).toEqual({ hosts: 3, create: 2, change: 1, delete: 1, statuses: { ok: 0, changed: 1, failed: 1, unreachable: 1, cancelled: 0 } });
    expect(report.hosts.map((host) => host.status)).toEqual(['changed', 'unreachable', 'failed']);
  });

  it('the text report ends with the same numbers, per host and in total', () => {
    const text = renderTextReport([gw1, gw2], { mode: 'plan', diff: true });
    expect(text).toMatch(/gw1\s+changed\s+2 to create, 1 to change, 1 to delete\n/);
    expect(text).toMatch(/gw2\s+unreachable\s+0 to create, 0 to change, 0 to delete\n/);
    expect(text).toMatch(/TOTAL\s+2 hosts\s+2 to create, 1 to change, 1 to delete\n$/);
    const applied = renderTextReport([{ ...gw1, applied: true }], { mode: 'apply', diff: false });
    expect(applied).toMatch(/TOTAL\s+1 host\s+2 created, 1 changed, 1 deleted\n$/);
  });

  it('input errors are a report too, each problem with its place', () => {
    const report = JSON.parse(renderJsonErrors('apply', [{ where: 'play.yaml:5:7', message: 'unknown module' }], 1));
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.errors).toEqual([{ where: 'play.yaml:5:7', message: 'unknown module' }]);
  });

  it('covers wgplay status --json: gateways, each with its tunnels', () => {
    const status = {
      format: 1,
      staleAfterSeconds: 180,
      exitCode: 2,
      gateways: [
        {
          host: 'gw',
          status: 'ok',
          roundTrips: 1,
          tunnels: [
            { customer: 'a', interface: 'wg-a', state: 'up', inPlaybook: true, listenPort: 51821, handshakeAgeSeconds: 12, rxBytes: 10, txBytes: 20, endpoint: '203.0.113.9:4000' },
            { customer: 'b', interface: 'wg-b', state: 'missing', inPlaybook: true, handshakeAgeSeconds: null },
          ],
        },
        { host: 'gw2', status: 'unreachable', error: 'connection refused', roundTrips: 0, tunnels: [] },
      ],
    };
    expect(reportSchemaErrors(status)).toEqual([]);
    expect(reportSchemaErrors({ ...status, gateways: [{ ...status.gateways[0]!, tunnels: [{ customer: 'a', interface: 'wg-a', state: 'sleeping', inPlaybook: true }] }] })).not.toEqual([]);
  });

  it('refuses what does not follow it: no format, another format, an unknown status or action, an error report without errors', () => {
    const good = buildRunReport([gw1], 'plan', 2);
    const { format: _format, ...noFormat } = good;
    expect(reportSchemaErrors(noFormat)).not.toEqual([]);
    expect(reportSchemaErrors({ ...good, format: 2 })).not.toEqual([]);
    expect(reportSchemaErrors({ ...good, hosts: [{ ...good.hosts[0]!, status: 'weird' }] })).not.toEqual([]);
    const badAction = structuredClone(good);
    (badAction.hosts[0]!.tasks[0]!.changes[0] as { action: string }).action = 'replace';
    expect(reportSchemaErrors(badAction)).not.toEqual([]);
    expect(reportSchemaErrors({ ...good, summary: { ...good.summary, create: undefined } })).not.toEqual([]);
    expect(reportSchemaErrors({ format: 1, command: 'plan', exitCode: 1, errors: [] })).not.toEqual([]);
    expect(reportSchemaErrors({ ...good, surprise: true })).not.toEqual([]);
  });
});
