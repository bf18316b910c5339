// The corpus fixtures/inventory/ansible/*: each inventory read by Ansible (Debian's
// ansible-core) and by wgplay with the same arguments. Every host's variables (as
// ansible-inventory --list and --host print them), the groups, group_names, groups,
// and the SSH connection (user, address, port, key, jump host) must be identical.
// Every mismatch is printed. Nothing is sent anywhere but loopback: every address is
// checked to be in 127.0.0.0/8 before Ansible pings it, and nothing listens there.
import { readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import {
  ansibleAddress,
  ansibleConnections,
  ansibleHost,
  ansibleList,
  ansibleMagic,
  isLoopback,
  jumpAddresses,
  type Connection,
  type OracleCase,
} from './ansibleOracle.js';
import { wgplayConnections, wgplayHost, wgplayList, wgplayMagic } from './inventoryOracleWgplay.js';

const CORPUS = new URL('../../fixtures/inventory/ansible/', import.meta.url).pathname;
const cases = readdirSync(CORPUS).filter((name) => !name.startsWith('.')).sort();
const allMismatches: string[] = [];

function show(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}

/** Every difference between two JSON values, as "path: ansible X, wgplay Y". */
function differences(path: string, ansible: unknown, wgplay: unknown, out: string[]): void {
  if (isDeepStrictEqual(ansible, wgplay)) return;
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(ansible) && isObject(wgplay)) {
    const a = ansible as Record<string, unknown>;
    const w = wgplay as Record<string, unknown>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(w)])) differences(`${path}.${key}`, a[key], w[key], out);
    return;
  }
  out.push(`${path}: ansible ${show(ansible)}, wgplay ${show(wgplay)}`);
}

describe('inventories read as Ansible reads them (ansible-core as the oracle)', () => {
  afterAll(() => {
    process.stdout.write(`inventory corpus: ${cases.length} inventories, ${allMismatches.length} mismatches\n`);
  });

  it('has at least 20 inventories', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)('%s', async (name) => {
    const dir = join(CORPUS, name);
    const spec = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as OracleCase;
    const mismatches: string[] = [];

    const list = await ansibleList(dir, spec.args);
    const hostvars = list._meta.hostvars;
    const magic = await ansibleMagic(dir, spec.args);
    const ours = await wgplayList(dir, spec.args);
    differences('--list', list, ours.list, mismatches);
    if (ours.error) mismatches.push(`wgplay inventory --list failed: ${ours.error}`);

    // One host's --host, the same one every run (Ansible prints the hosts in no fixed order).
    for (const host of [...magic.keys()].sort().slice(0, 1)) {
      const theirs = await ansibleHost(dir, spec.args, host);
      differences(`--host ${host}`, theirs, await wgplayHost(dir, spec.args, host), mismatches);
    }

    const ourMagic = await wgplayMagic(dir, spec.args);
    for (const [host, vars] of magic) {
      differences(`${host}`, vars, ourMagic.get(host), mismatches);
    }

    // Safety first: Ansible may only ping loopback addresses (checked on its own view).
    const toPing = spec.ping ?? [...magic.keys()];
    for (const host of toPing) {
      const vars = hostvars[host] ?? {};
      const addresses = [ansibleAddress(host, vars), ...jumpAddresses(vars)];
      const elsewhere = addresses.filter((address) => !isLoopback(address));
      if (elsewhere.length > 0) throw new Error(`${name}: refusing to ping ${host}: ${elsewhere.join(', ')} is not in 127.0.0.0/8`);
    }
    const defaultUser = userInfo().username;
    const theirConnections = await ansibleConnections(dir, spec.args, toPing, defaultUser);
    const ourConnections = await wgplayConnections(dir, spec.args);
    for (const host of toPing) {
      const theirs: Connection | undefined = theirConnections.get(host);
      if (!theirs) {
        mismatches.push(`connection of ${host}: ansible opened none`);
        continue;
      }
      differences(`connection of ${host}`, theirs, ourConnections.get(host), mismatches);
    }

    allMismatches.push(...mismatches.map((m) => `${name}: ${m}`));
    expect(mismatches, `${name}:\n  ${mismatches.join('\n  ')}`).toEqual([]);
  });
});
