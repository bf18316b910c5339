import type { HostFacts } from './types.js';

const WG_QUICK_TEMPLATE = '/lib/systemd/system/wg-quick@.service';

/**
 * The facts of a freshly booted host with nothing of wgplay's on it: for planning
 * without a host (tests, benchmarks, a deploy tool previewing a first install).
 */
export function blankFacts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    links: [{ name: 'lo', up: true }, { name: 'eth0', up: true }],
    addresses: [],
    rules: [],
    routes: [],
    nftTables: [],
    wg: {},
    sysctls: { 'net.ipv4.ip_local_reserved_ports': '' },
    nftBootFiles: {},
    programs: { wg: true, 'wireguard-go': true, nft: true, ip: true, 'wg-quick': true },
    system: { kernel: '6.1.0', uid: 0, hostname: 'gateway', clock: 1_800_000_000 },
    ...overrides,
    // wireguard-tools' template unit is there, as Debian installs it (unless overridden).
    files: { [WG_QUICK_TEMPLATE]: { path: WG_QUICK_TEMPLATE, exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root' }, ...overrides.files },
  };
}
