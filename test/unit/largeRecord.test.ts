// A gateway record past the fact script's default read limit, read by the real script
// in bash and planned on. Left out of mutation runs (vitest.mutate.config.ts): 3000
// customers planned by instrumented code cost ~25 s per mutant, and every path of
// src/modules it runs is run by the gateway tests with one to three customers.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFactScript } from '../../src/facts/factScript.js';
import { parseFacts } from '../../src/facts/parseFacts.js';
import { allocateCustomers, renderRecord } from '../../src/modules/gateway/allocate.js';
import { expandGateway } from '../../src/modules/gateway/expand.js';
import { gatewayModule } from '../../src/modules/gateway/index.js';
import { gatewayArgs } from './validatedTask.js';

const KEY_A = '/TOE4TKtAqVsePRVR+5AA43HkAK5DSntkOCO7nYq5xU=';
const bare = (name: string, key: string) => ({ name, public_key: key, address: '10.0.0.1', our_address: '10.0.0.2' });

describe('a large record', () => {
  it('is read whole by the fact script (3000 customers, past the 256 KiB default), and planned on', () => {
    const many = Array.from({ length: 3000 }, (_, index) => bare(`c${index}`, KEY_A));
    const gateway = { ...gatewayArgs({ public_interface: 'eth0', public_address: '203.0.113.2', ssh: { interfaces: 'any' }, customers: many }), state_file: join(mkdtempSync(join(tmpdir(), 'wgplay-record-')), 'gateway.json'), pools: { listen_ports: '20000-29999', tables: '1000-9999', our_addresses: '10.200.0.0/16', customer_addresses: '10.100.0.0/16' } };
    const record = renderRecord(allocateCustomers(gateway));
    expect(record.length).toBeGreaterThan(256 * 1024);
    writeFileSync(gateway.state_file, record);
    const facts = parseFacts(execFileSync('bash', ['-s'], { input: buildFactScript(gatewayModule.facts!(gateway)), maxBuffer: 64 * 1024 * 1024 }).toString());
    expect(facts.files[gateway.state_file]!.content).toBe(record);
    expect(() => expandGateway(gateway, { taskName: 'gw', facts })).not.toThrow();
  });
});
