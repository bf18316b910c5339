// Every task's and module's argument schema is a valid JSON schema, and every `net:`
// in it names a kind src/net knows. wgplay does not check this at run time
// (src/playbook/validate.ts: validateSchema false), so it is checked here.
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { findModule, findTask, knownTaskNames } from '../../src/catalog.js';
import { NET_KINDS } from '../../src/net/values.js';

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
