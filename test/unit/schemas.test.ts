// Every task's and module's argument schema is a valid JSON schema, and every `net:`
// in it names a kind src/net knows. wgplay does not check this at run time
// (src/playbook/argumentAjv.ts: validateSchema false), so it is checked here; and the
// validators generated for the CLI bundle validate as the ones compiled at run time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { findModule, findTask, knownTaskNames } from '../../src/catalog.js';
import { NET_KINDS } from '../../src/net/values.js';
import { standaloneValidators, useGeneratedValidators, validatorOf } from '../../src/playbook/argumentAjv.js';
import { validateArgs } from '../../src/playbook/validate.js';
import type { JsonSchema } from '../../src/tasks/types.js';

const ajv = new Ajv({ strictSchema: true, strictTypes: false, strictTuples: false, strictRequired: false });
ajv.addKeyword({ keyword: 'net', type: 'string', schemaType: 'string', metaSchema: { enum: Object.keys(NET_KINDS) } });

describe('argument schemas', () => {
  it.each(knownTaskNames())('%s: a valid JSON schema whose net kinds exist', (name) => {
    const schema = (findTask(name) ?? findModule(name))!.schema;
    expect(ajv.validateSchema(schema), ajv.errorsText(ajv.errors)).toBe(true);
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('fails on a schema that is not one (the check can fail)', () => {
    expect(() => ajv.compile({ type: 'object', properties: { a: { type: 'string', net: 'no-such-kind' } } })).toThrow(/keyword "net" value is invalid/);
    expect(ajv.validateSchema({ type: 'object', required: 'a' })).toBe(false);
  });
});

describe('validators generated at build time (the CLI bundle)', () => {
  const samples: [string, unknown][] = [
    ['ip_rule', { from: 'FD00:0::1', table: 41, priority: 100 }],
    ['ip_rule', { from: '10.0.0.300', table: 41, priority: 100 }],
    ['ip_rule', { from: '10.0.0.1', table: 'main', priority: 100, colour: 'red' }],
    ['file', { content: 'x' }],
    ['sysctl', { key: 'net.ipv4.ip_forward', value: 1 }],
    ['wireguard_gateway', {
      public_interface: 'mgmt0', public_address: '203.0.113.2', ssh: { interfaces: 'any' },
      pools: { listen_ports: '51000-52999', tables: '1000-2999', our_addresses: '10.200.0.0/16', customer_addresses: '10.100.0.0/16' },
      customers: [
        { name: 'c0', public_key: 'JNjp6tcuhTSGPh4ZYjCDKEOQ48RHfZ6kJRI0/MZKyQo=', address: '10.0.0.1', our_address: '10.0.0.2' },
        { name: 'c1', public_key: 'not a key', address: '10.0.0.01', our_address: 'FD00::0:2' },
      ],
    }],
  ];

  it('give the same problems, defaults and canonical values as validators compiled at run time', async () => {
    const names = knownTaskNames();
    // Beside this test: the generated code require()s ajv's runtime helpers from where it lies.
    const dir = mkdtempSync(join(import.meta.dirname, '.generated-'));
    const file = resolve(dir, 'argumentValidators.mjs');
    const schemaOf = (name: string) => (findTask(name) ?? findModule(name))!.schema;
    writeFileSync(file, standaloneValidators(names.map(schemaOf), new URL('../../src/playbook/argumentAjv.ts', import.meta.url).pathname));
    const generated = (await import(file)) as Record<string, ValidateFunction>;
    expect(Object.keys(generated)).toHaveLength(names.length);
    const checkOf = (name: string) => { const owner = (findTask(name) ?? findModule(name))!; return owner.check?.bind(owner); };

    const compiledRuns = samples.map(([name, args]) => { const copy = structuredClone(args); return { issues: validateArgs(name, schemaOf(name), checkOf(name), copy), args: copy }; });
    useGeneratedValidators(generated);
    try {
      samples.forEach(([name, args], index) => {
        // A schema equal to the catalog's but not the same object: looked up by fingerprint, not compiled.
        const schema = structuredClone(schemaOf(name));
        expect(Object.values(generated)).toContain(validatorOf(schema));
        const copy = structuredClone(args);
        expect({ issues: validateArgs(name, schema, checkOf(name), copy), args: copy }, name).toEqual(compiledRuns[index]);
      });
      expect(compiledRuns.filter((run) => run.issues.length > 0)).toHaveLength(4);
      // A schema it was not generated from is compiled as before.
      const other = { type: 'object', properties: { a: { type: 'string', net: 'host-address' } } } as JsonSchema;
      expect(Object.values(generated)).not.toContain(validatorOf(other));
      expect(validateArgs('mine', other, undefined, { a: 'x' })[0]?.message).toMatch(/"x"/);
    } finally {
      useGeneratedValidators({});
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
