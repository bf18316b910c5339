// Building blocks for the argument schemas of tasks and modules (TypeBox: a JSON schema
// that TypeScript reads as a type; ajv validates it and fills in its defaults).
import { CloneType, Type, type SchemaOptions, type Static, type TArray, type TObject, type TOptional, type TProperties, type TSchema, type TUnsafe } from '@sinclair/typebox';

/**
 * One of a few strings, as a JSON-schema `enum` (TypeBox's own unions become `anyOf`
 * of constants, whose ajv errors read worse than "must be one of ...").
 */
export function Enum<const Values extends readonly (string | number)[]>(values: Values, options: SchemaOptions = {}): TUnsafe<Values[number]> {
  return Type.Unsafe<Values[number]>({ ...options, enum: [...values] });
}

/** A string or a number (nft keys, sysctl values), as one `type: [string, number]`. */
export function StringOrNumber(options: SchemaOptions = {}): TUnsafe<string | number> {
  return Type.Unsafe<string | number>({ ...options, type: ['string', 'number'] });
}

/**
 * An optional argument with a default: ajv (`useDefaults`) writes `value` into the
 * arguments when it is missing, so plan() and check() see it set (see `Validated`).
 */
export function Defaulted<S extends TSchema>(schema: S, value: Static<S>): TOptional<S & { default: Static<S> }> {
  return Type.Optional(CloneType(schema, { default: value })) as unknown as TOptional<S & { default: Static<S> }>;
}

/** `state`: present (the default) or absent. */
export const State = (what: string) =>
  Defaulted(Enum(['present', 'absent'] as const, { description: `present: ${what} exists as described; absent: it is removed` }), 'present');

type DefaultedKeys<P extends TProperties> = { [K in keyof P]: P[K] extends { default: unknown } ? K : never }[keyof P];
type OptionalKeys<P extends TProperties> = { [K in keyof P]: P[K] extends TOptional<TSchema> ? K : never }[keyof P];
type Flat<T> = { [K in keyof T]: T[K] } & {};

/**
 * The arguments as a task's or module's check(), claims(), facts(), plan() and expand()
 * see them: valid, and with every default filled in, in nested objects and array items too
 * (ajv fills them there as well).
 */
export type Validated<S extends TSchema> =
  S extends TArray<infer Item extends TSchema>
    ? Validated<Item>[]
    : S extends TObject<infer P>
      ? Flat<
          { [K in Exclude<keyof P, Exclude<OptionalKeys<P>, DefaultedKeys<P>>>]-?: Validated<P[K]> } & {
            [K in Exclude<OptionalKeys<P>, DefaultedKeys<P>>]?: Validated<P[K]>;
          }
        >
      : Static<S>;
