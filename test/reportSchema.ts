// docs/report.schema.json compiled by ajv, for tests that read wgplay's --json output.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

const SCHEMA_PATH = new URL('../docs/report.schema.json', import.meta.url);
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** The schema's errors for a report, as readable lines; empty when it conforms. */
export function reportSchemaErrors(report: unknown): string[] {
  if (validate(report)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
}

/** Throws, naming every violation, when a report does not follow docs/report.schema.json. */
export function assertReportFollowsSchema(report: unknown, context = ''): void {
  const errors = reportSchemaErrors(report);
  if (errors.length > 0) {
    throw new Error(`report does not follow docs/report.schema.json${context ? ` (${context})` : ''}:\n  ${errors.join('\n  ')}\n${JSON.stringify(report, null, 2).slice(0, 4000)}`);
  }
}
