import type { HostFacts } from './types.js';

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
    files: {},
    sysctls: { 'net.ipv4.ip_local_reserved_ports': '' },
    programs: { wg: true, 'wireguard-go': true, nft: true, ip: true },
    system: { kernel: '6.1.0', uid: 0, hostname: 'gateway' },
    ...overrides,
  };
}
