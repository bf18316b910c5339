// `wgplay status` output: a table per gateway for people, versioned JSON for scripts,
// and Prometheus text format for node_exporter's textfile collector.

import { redactDeep } from '../report/redact.js';
import type { GatewayStatus, TunnelStatus } from './collect.js';

const STATUS_FORMAT_VERSION = 1;

function bytes(count: number | undefined): string {
  if (count === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${count} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function age(seconds: number | null | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds === null) return 'never';
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m ago`;
  return `${Math.floor(seconds / 3600)}h ago`;
}

function summaryLine(tunnels: TunnelStatus[]): string {
  const asked = tunnels.filter((tunnel) => tunnel.inPlaybook);
  const count = (state: TunnelStatus['state']) => asked.filter((tunnel) => tunnel.state === state).length;
  const extra = tunnels.length - asked.length;
  return `${count('up')} up, ${count('stale')} stale, ${count('down')} down, ${count('missing')} missing${extra ? `; ${extra} on the host but not in the playbook` : ''}`;
}

export function renderStatusText(gateways: GatewayStatus[], staleAfterSeconds: number): string {
  const out: string[] = [];
  for (const gateway of gateways) {
    if (gateway.status !== 'ok') {
      out.push(`${gateway.host}: ${gateway.status}: ${gateway.error ?? ''}`.trimEnd(), '');
      continue;
    }
    out.push(`${gateway.host}: ${summaryLine(gateway.tunnels)}`);
    const rows = [
      ['CUSTOMER', 'INTERFACE', 'STATE', 'PORT', 'HANDSHAKE', 'RX', 'TX', 'ENDPOINT'],
      ...gateway.tunnels.map((tunnel) => [
        tunnel.customer,
        tunnel.interface,
        tunnel.inPlaybook ? tunnel.state : `${tunnel.state} (not in the playbook)`,
        tunnel.listenPort === undefined ? '-' : String(tunnel.listenPort),
        age(tunnel.handshakeAgeSeconds),
        bytes(tunnel.rxBytes),
        bytes(tunnel.txBytes),
        tunnel.endpoint ?? '-',
      ]),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const row of rows) out.push(`  ${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd());
    out.push('');
  }
  out.push(`(stale: no handshake in the last ${staleAfterSeconds} s)`);
  return `${out.join('\n')}\n`;
}

export function renderStatusJson(gateways: GatewayStatus[], staleAfterSeconds: number, exitCode: number): string {
  const report = { format: STATUS_FORMAT_VERSION, staleAfterSeconds, exitCode, gateways };
  return `${JSON.stringify(redactDeep(report), null, 2)}\n`;
}

/** A label value in the text exposition format: backslash, double quote and newline escaped. */
const labelValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderStatusPrometheus(gateways: GatewayStatus[], staleAfterSeconds: number): string {
  const metrics: { name: string; type: 'gauge' | 'counter'; help: string; samples: string[] }[] = [
    { name: 'wgplay_gateway_up', type: 'gauge', help: 'Whether wgplay could read the gateway (1) or not (0).', samples: [] },
    { name: 'wgplay_tunnel_up', type: 'gauge', help: `1 when the customer's interface is up with a handshake in the last ${staleAfterSeconds} s.`, samples: [] },
    { name: 'wgplay_tunnel_interface_up', type: 'gauge', help: "1 when the customer's interface exists and is up.", samples: [] },
    { name: 'wgplay_tunnel_in_playbook', type: 'gauge', help: '1 when the playbook asks for this tunnel, 0 when only the host has it.', samples: [] },
    { name: 'wgplay_tunnel_latest_handshake_age_seconds', type: 'gauge', help: 'Seconds since the latest handshake (absent when there was none).', samples: [] },
    { name: 'wgplay_tunnel_receive_bytes_total', type: 'counter', help: 'Bytes received from the customer since the interface came up.', samples: [] },
    { name: 'wgplay_tunnel_transmit_bytes_total', type: 'counter', help: 'Bytes sent to the customer since the interface came up.', samples: [] },
  ];
  const sample = (name: string, labels: Record<string, string>, value: number) => {
    const text = Object.entries(labels).map(([key, v]) => `${key}="${labelValue(v)}"`).join(',');
    metrics.find((metric) => metric.name === name)!.samples.push(`${name}{${text}} ${value}`);
  };
  for (const gateway of gateways) {
    sample('wgplay_gateway_up', { gateway: gateway.host }, gateway.status === 'ok' ? 1 : 0);
    for (const tunnel of gateway.tunnels) {
      const labels = { gateway: gateway.host, customer: tunnel.customer };
      sample('wgplay_tunnel_up', labels, tunnel.state === 'up' ? 1 : 0);
      sample('wgplay_tunnel_interface_up', labels, tunnel.state === 'up' || tunnel.state === 'stale' ? 1 : 0);
      sample('wgplay_tunnel_in_playbook', labels, tunnel.inPlaybook ? 1 : 0);
      if (typeof tunnel.handshakeAgeSeconds === 'number') sample('wgplay_tunnel_latest_handshake_age_seconds', labels, tunnel.handshakeAgeSeconds);
      if (tunnel.rxBytes !== undefined) sample('wgplay_tunnel_receive_bytes_total', labels, tunnel.rxBytes);
      if (tunnel.txBytes !== undefined) sample('wgplay_tunnel_transmit_bytes_total', labels, tunnel.txBytes);
    }
  }
  return metrics.map((metric) => [`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`, ...metric.samples].join('\n')).join('\n') + '\n';
}
