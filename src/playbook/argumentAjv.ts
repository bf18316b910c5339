/**
 * The ajv that validates task and module arguments: its options, the `net` keyword, and
 * the validators generated ahead of time. Compiling a schema (generating its code) is a
 * good part of a short run's CPU, so the CLI bundle (scripts/bundle.mjs) carries the
 * catalog's validators as code generated at build time (standaloneValidators), keyed by
 * the schema's fingerprint: a schema that is not the one they were generated from (a
 * library user's task) is compiled at run time, as before.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Ajv, KeywordCxt, Options, ValidateFunction } from 'ajv';
import { canonicalValue, isNetKind, NET_KINDS } from '../net/index.js';
import type { JsonSchema } from '../tasks/types.js';

/** `net: KIND`: the value checked and made canonical (src/net/values.ts), for the validators' code. */
export function netValue(kind: string, text: string): { ok: true; value: string } | { ok: false; message: string } {
  return isNetKind(kind) ? canonicalValue(kind, text) : { ok: false, message: `unknown kind of network value "${kind}"` };
}

// ajv itself is loaded only to compile a schema or generate code: the validators
// generated at build time need only its small runtime helpers, and loading ajv costs a
// short run tens of milliseconds (the CLI bundle leaves it out).
const requireAjv = createRequire(import.meta.url);
const ajvPackage = () => requireAjv('ajv') as typeof import('ajv');

function argumentAjv(options: Options = {}): Ajv {
  const { Ajv, _ } = ajvPackage();
  const ajv = new Ajv({
    // Schemas are not checked against the JSON Schema meta-schema on every run (compiling
    // that costs as much as the schemas): test/unit/schemas.test.ts checks the catalog's.
    validateSchema: false,
    allErrors: true,
    verbose: true,
    useDefaults: true,
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    ...options,
  });
  // `net: KIND`: the value must be a valid network value of that kind, and is replaced in
  // place by its canonical form ("FD00:0::1" -> "fd00::1"). Generated code calls netValue
  // by that name (the generated module imports it).
  ajv.addKeyword({
    keyword: 'net',
    type: 'string',
    schemaType: 'string',
    metaSchema: { enum: Object.keys(NET_KINDS) },
    error: { message: ({ params }) => _`${params.result}.message`, params: ({ schemaCode }) => _`{ kind: ${schemaCode} }` },
    code(cxt: KeywordCxt) {
      const { gen, data, schemaCode, it } = cxt;
      const check = gen.scopeValue('func', { ref: netValue, code: _`netValue` });
      const result = gen.const('net', _`${check}(${schemaCode}, ${data})`);
      cxt.setParams({ result });
      cxt.fail(_`!${result}.ok`);
      if (it.dataLevel > 0) gen.if(_`${result}.ok`, () => gen.assign(_`${it.parentData}[${it.parentDataProperty}]`, _`${result}.value`));
    },
  });
  return ajv;
}

// Made on the first schema without a generated validator: adding the `net` keyword
// compiles its meta-schema, a cost a run of the catalog's tasks alone never needs.
let runtimeAjv: Ajv | undefined;

const fingerprint = (schema: JsonSchema) => `s${createHash('sha256').update(JSON.stringify(schema)).digest('hex')}`;

let generated: Record<string, ValidateFunction> = {};

/** The validators generated at build time (the module standaloneValidators wrote). */
export function useGeneratedValidators(validators: Record<string, ValidateFunction>): void {
  generated = validators;
}

const compiled = new WeakMap<JsonSchema, ValidateFunction | Error>();

/** The schema's validator (generated ahead, or compiled once); an Error for an invalid schema. */
export function validatorOf(schema: JsonSchema): ValidateFunction | Error {
  let validate = compiled.get(schema);
  if (!validate) {
    try {
      validate = generated[fingerprint(schema)] ?? (runtimeAjv ??= argumentAjv()).compile(schema);
    } catch (error) {
      validate = error instanceof Error ? error : new Error(String(error));
    }
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * An ES module exporting a validator for each schema, named by its fingerprint, for
 * useGeneratedValidators. `netFrom` is where the module imports netValue from.
 */
export function standaloneValidators(schemas: JsonSchema[], netFrom: string): string {
  const generator = argumentAjv({ code: { source: true, esm: true } });
  const names = new Map(schemas.map((schema) => [fingerprint(schema), schema]));
  for (const [name, schema] of names) generator.addSchema(schema, name);
  const standalone = requireAjv('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js');
  const code = standalone.default(generator, Object.fromEntries([...names.keys()].map((name) => [name, name])));
  // ajv's generated code require()s its runtime helpers (ucs2length), even as an ES module.
  const header = [
    "import { createRequire } from 'node:module';",
    `import { netValue } from ${JSON.stringify(netFrom)};`,
    'const require = createRequire(import.meta.url);',
  ];
  return `${header.join('\n')}\n${code}\n`;
}
