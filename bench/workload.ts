// The benchmark's workload: a `wireguard_gateway` with N customers (made-up but valid
// public keys, pools wide enough for 1000 customers), and the same playbook with one
// customer's key changed (the "apply of one changed customer" column).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { testHostGateway } from '../test/e2e/harness.js';

/** A valid WireGuard public key (32 bytes, base64), distinct per customer and generation. */
export const customerKey = (i: number, generation = 0) =>
  createHash('sha256').update(`wgplay-bench-customer-${i}-${generation}`).digest('base64');

export interface Workload {
  customers: number;
  /** The playbook the first apply and the no-op runs use. */
  playbook: string;
  /** The same with customer c0's public key changed. */
  changedPlaybook: string;
}

function gatewayPlaybook(customers: number, changed: boolean): unknown[] {
  return testHostGateway(
    'bench gateway',
    Array.from({ length: customers }, (_, i) => ({ name: `c${i}`, public_key: customerKey(i, changed && i === 0 ? 1 : 0) })),
    { listen_ports: '51000-52999', tables: '1000-2999', our_addresses: '10.200.0.0/16', customer_addresses: '10.100.0.0/16' },
    { services: [{ protocol: 'tcp', port: 8080 }] },
  );
}

export function writeWorkload(dir: string, customers: number): Workload {
  const playbook = join(dir, `gateway-${customers}.yaml`);
  const changedPlaybook = join(dir, `gateway-${customers}-changed.yaml`);
  writeFileSync(playbook, stringify(gatewayPlaybook(customers, false)));
  writeFileSync(changedPlaybook, stringify(gatewayPlaybook(customers, true)));
  return { customers, playbook, changedPlaybook };
}
