// Data-driven fact-parser cases: fixtures/parsers/<source>/<case>.json holds the command,
// its real output (a section of the fact captures in fixtures/facts/, or captured by
// fixtures/parsers/capture.mjs from its "setup" in a throwaway namespace) and the fact
// the parser must read from it. UPDATE_PARSER_CASES=1 rewrites "parsed" from the code:
// only to review by hand.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseFileSection,
  parseIpAddresses,
  parseIpLinks,
  parseIpRoutes,
  parseIpRules,
  parseNftRuleset,
  parsePrograms,
  parseSysctlSection,
  parseWgDump,
} from '../../src/facts/parse.js';

interface ParserCase {
  description: string;
  command: string | string[];
  output: string | string[];
  family?: 'inet' | 'inet6';
  path?: string;
  rc?: number;
  parsed: unknown;
}

const lines = (text: string) => (text === '' ? [] : text.split('\n'));
const PARSERS: Record<string, (c: ParserCase) => unknown> = {
  'ip-link': (c) => parseIpLinks(c.output as string),
  'ip-addr': (c) => parseIpAddresses(c.output as string),
  'ip-rule': (c) => parseIpRules(c.output as string, c.family!),
  'ip-route': (c) => parseIpRoutes(c.output as string, c.family!),
  nft: (c) => parseNftRuleset(...(c.output as [string, string])),
  'wg-dump': (c) => parseWgDump(c.output as string),
  file: (c) => parseFileSection(c.path!, lines(c.output as string)),
  sysctl: (c) => parseSysctlSection(lines(c.output as string), c.rc),
  programs: (c) => parsePrograms(lines(c.output as string)),
};

const root = new URL('../../fixtures/parsers/', import.meta.url).pathname;
const folders = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

it('has a parser for every folder and a folder for every parser', () => {
  expect(folders).toEqual(Object.keys(PARSERS).sort());
});

describe.each(folders)('%s', (folder) => {
  const cases = readdirSync(join(root, folder)).filter((name) => name.endsWith('.json')).sort();
  it.each(cases)('%s', (name) => {
    const file = join(root, folder, name);
    const data = JSON.parse(readFileSync(file, 'utf8')) as ParserCase;
    // JSON has no undefined: compare as JSON would store it.
    const parsed = JSON.parse(JSON.stringify(PARSERS[folder]!(data)));
    if (process.env.UPDATE_PARSER_CASES === '1') {
      writeFileSync(file, `${JSON.stringify({ ...data, parsed }, null, 2)}\n`);
      return;
    }
    expect(parsed).toEqual(data.parsed);
  });
});
