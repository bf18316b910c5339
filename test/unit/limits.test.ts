// Input that would cost minutes or gigabytes to expand, or a stack overflow to resolve,
// is refused with its place (file:line:col), never a raw exception.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { MAX_PROBLEMS_SHOWN } from '../../src/cli/common.js';
import { parseExtraVars } from '../../src/inventory/extraVars.js';
import { loadInventories, parseInventory } from '../../src/inventory/load.js';
import { MAX_INPUT_BYTES, MAX_YAML_TOKENS } from '../../src/yamlLimits.js';
import { loadPlaybook, parsePlaybook, resolvePlaybook } from '../../src/playbook/index.js';
import { MAX_VARIABLE_DEPTH } from '../../src/playbook/template.js';
import '../../src/tasks/index.js';
import { problemsOf } from './problems.js';

/** Nine levels of nine aliases each: 9^9 (387 million) strings from a few hundred bytes. */
function laughs(indent: string): string {
  let text = `${indent}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n`;
  for (let level = 1; level <= 8; level++) {
    text += `${indent}l${level}: &l${level} [${Array(9).fill(`*l${level - 1}`).join(', ')}]\n`;
  }
  return text;
}

describe('a billion laughs', () => {
  it('is refused in the playbook, at the first alias', () => {
    const text = `- name: laughs\n  hosts: all\n  vars:\n${laughs('    ')}  tasks: []\n`;
    expect(text.length).toBeLessThan(1024);
    expect(problemsOf(() => parsePlaybook(text, 'laughs.yaml'))).toEqual([
      'laughs.yaml:5:14: YAML aliases here expand too often (more than 100 copies of one anchor: a "billion laughs"?); write the values out or use variables',
    ]);
  });

  it('is refused in the inventory, as an error with its place rather than a ReferenceError', () => {
    const text = `all:\n  hosts:\n    gw:\n  vars:\n${laughs('    ')}`;
    expect(problemsOf(() => parseInventory(text, 'inventory.yaml'))).toEqual([
      'inventory.yaml:6:14: YAML aliases here expand too often (more than 100 copies of one anchor: a "billion laughs"?); write the values out or use variables',
    ]);
  });

  it('leaves ordinary aliases alone', () => {
    const text = '- name: ok\n  hosts: all\n  vars:\n    base: &base { table: 41 }\n    other: *base\n  tasks: []\n';
    expect(parsePlaybook(text, 'ok.yaml').plays).toHaveLength(1);
  });
});

describe('a chain of variables', () => {
  it('as long as fits in a file (9000 variables) is refused with a clear error, not a RangeError', () => {
    const vars = Array.from({ length: 9000 }, (_, i) => `    v${i}: "{{ v${i + 1} }}"`).join('\n');
    const text = `- name: chain\n  hosts: all\n  vars:\n${vars}\n    v9000: 41\n  tasks:\n    - name: rule\n      ip_rule: { table: "{{ v0 }}" }\n`;
    expect(text.length).toBeLessThan(MAX_INPUT_BYTES);
    const playbook = parsePlaybook(text, 'chain.yaml');
    const problems = problemsOf(() => resolvePlaybook(playbook, [{ name: 'gw', vars: {} }], () => ['gw']));
    expect(problems).toEqual([
      `chain.yaml:4:9: play "chain", vars.v0: variables refer to each other more than ${MAX_VARIABLE_DEPTH} deep (v0 -> v1 -> v2 -> ... -> v${MAX_VARIABLE_DEPTH})`,
    ]);
  });

  it('a chain within the limit resolves', () => {
    const vars = Array.from({ length: 50 }, (_, i) => `    v${i}: "{{ v${i + 1} }}"`).join('\n');
    const text = `- name: chain\n  hosts: all\n  vars:\n${vars}\n    v50: 41\n  tasks:\n    - name: rule\n      ip_rule: { table: "{{ v0 }}" }\n`;
    const tasks = resolvePlaybook(parsePlaybook(text, 'chain.yaml'), [{ name: 'gw', vars: {} }], () => ['gw']).get('gw')!;
    expect(tasks[0]!.args).toMatchObject({ table: 41 });
  });
});

describe('hostile shapes', () => {
  it('nesting deeper than the YAML parser can go is refused at its place, in the playbook and the inventory', () => {
    // `- - - x` nests a list in a list two characters a level: 20 000 levels in 40 KB.
    const dashes = `${'- '.repeat(20000)}x`;
    const playbook = `- name: deep\n  hosts: all\n  vars:\n    x:\n      ${dashes}\n  tasks: []\n`;
    expect(problemsOf(() => parsePlaybook(playbook, 'deep.yaml'))).toEqual([
      'deep.yaml:5:7: the YAML is nested too deeply to read (thousands of levels); a playbook or inventory needs a few dozen at most',
    ]);
    const inventory = `all:\n  hosts:\n    gw:\n  vars:\n    x:\n      ${dashes}\n`;
    expect(problemsOf(() => parseInventory(inventory, 'inventory.yaml'))[0]).toMatch(/^inventory\.yaml:6:\d+: .*the YAML is nested too deeply to read/);
    const flow = `- name: deep\n  hosts: all\n  vars:\n    x: ${'['.repeat(20000)}${']'.repeat(20000)}\n  tasks: []\n`;
    expect(problemsOf(() => parsePlaybook(flow, 'flow.yaml'))[0]).toMatch(/^flow\.yaml:4:\d+: .*the YAML is nested too deeply to read/);
  });

  it('a huge bad template is quoted in its error only in part', () => {
    const text = `- name: braces\n  hosts: all\n  vars:\n    x: "${'{{'.repeat(100000)}"\n  tasks: []\n`;
    const problems = problemsOf(() => parsePlaybook(text, 'braces.yaml'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^braces\.yaml:4:8: .*unclosed "\{\{" in "\{\{.*"\.\.\. \(200000 characters\)/);
    expect(problems[0]!.length).toBeLessThan(400);
  });
});

describe('a file larger than wgplay reads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgplay-limits-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const TOO_BIG = /^wgplay reads input files of at most 256 KiB and this one is (\d+ KiB|larger) \(a gateway of 1000 customers is about 160 KB\): split it/;
  /** Valid YAML of `bytes` bytes: one long comment line after `head`. */
  const padded = (head: string, bytes: number) => `${head}# ${'x'.repeat(bytes - head.length - 3)}\n`;
  const fileOf = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const inventory = fileOf('inventory.yaml', 'all:\n  hosts:\n    gw:\n');

  it('is refused, naming the file, before it is parsed: playbook, inventory, group_vars, -e @file', () => {
    const play = '- name: big\n  hosts: all\n  tasks: []\n';
    const playbook = fileOf('big.yaml', padded(play, 1_500_000));
    const problems = problemsOf(() => loadPlaybook(playbook));
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^${playbook}: ${TOO_BIG.source.slice(1)}`))]);
    expect(problems[0]).toContain('this one is 1465 KiB');

    const bigInventory = fileOf('big-inventory.yaml', padded('all:\n  hosts:\n    gw:\n', MAX_INPUT_BYTES + 1));
    expect(problemsOf(() => loadInventories([bigInventory]))).toEqual([expect.stringMatching(new RegExp(`^${bigInventory}: ${TOO_BIG.source.slice(1)}`))]);

    mkdirSync(join(dir, 'group_vars'), { recursive: true });
    const groupVars = fileOf('group_vars/all.yaml', padded('x: 1\n', MAX_INPUT_BYTES + 1));
    expect(problemsOf(() => loadInventories([inventory]))).toEqual([expect.stringMatching(new RegExp(`^${groupVars}: ${TOO_BIG.source.slice(1)}`))]);
    rmSync(groupVars);

    const extra = fileOf('extra.yaml', padded('x: 1\n', MAX_INPUT_BYTES + 1));
    expect(problemsOf(() => parseExtraVars([`@${extra}`]))).toEqual([expect.stringMatching(new RegExp(`^-e @${extra}: ${TOO_BIG.source.slice(1)}`))]);
  });

  it('is refused also when its size is known only by reading it (a device), reading no more than the limit', () => {
    expect(problemsOf(() => loadPlaybook('/dev/zero'))).toEqual([expect.stringMatching(new RegExp(`^/dev/zero: ${TOO_BIG.source.slice(1)}`))]);
    expect(problemsOf(() => loadPlaybook('/dev/zero'))[0]).toContain('this one is larger');
  });

  it('as text (a library user, -e {...}) is refused the same way', () => {
    expect(problemsOf(() => parsePlaybook(padded('- name: big\n', MAX_INPUT_BYTES + 1), 'deploy'))).toEqual([expect.stringMatching(new RegExp(`^deploy: ${TOO_BIG.source.slice(1)}`))]);
  });

  it('at the limit is read', () => {
    const playbook = fileOf('at-limit.yaml', padded('- name: fits\n  hosts: all\n  tasks: []\n', MAX_INPUT_BYTES));
    expect(loadPlaybook(playbook).plays.map((play) => play.name)).toEqual(['fits']);
  });
});

describe('a file of more YAML tokens than wgplay reads', () => {
  // Small flow mappings: the shape the yaml package reads slowest per byte. One task is
  // 33-34 tokens, so 1800 fit in the budget and 2000 do not, both well inside 256 KiB.
  const tasks = (n: number) =>
    `- name: many\n  hosts: all\n  tasks:\n${Array.from({ length: n }, (_, i) => `    - name: t${i}\n      ip_rule: { table: 41, priority: ${i + 1} }`).join('\n')}\n`;
  const TOO_MANY = /^this file holds more than 64 000 YAML tokens \(keys, values, punctuation\) by this line, and wgplay reads at most that many/;

  it('is refused where the budget ran out, without the rest being parsed: playbook, inventory, -e', () => {
    const text = tasks(2000);
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_INPUT_BYTES / 2);
    const problems = problemsOf(() => parsePlaybook(text, 'many.yaml'));
    expect(problems).toHaveLength(1);
    const [, line, message] = /^many\.yaml:(\d+):1: (.*)$/.exec(problems[0]!)!;
    expect(message).toMatch(TOO_MANY);
    // ~33 tokens and two lines a task: the budget runs out around task 1900, line 3800 of 4004.
    expect(Number(line)).toBeGreaterThan(3700);
    expect(Number(line)).toBeLessThan(4000);

    const hosts = `all:\n  hosts:\n${Array.from({ length: 6000 }, (_, i) => `    gw${i}: { ansible_host: 10.0.${i >> 8}.${i & 255} }`).join('\n')}\n`;
    expect(problemsOf(() => parseInventory(hosts, 'inventory.yaml'))[0]).toMatch(/^inventory\.yaml:\d+:1: .*this file holds more than 64 000 YAML tokens/);
    expect(problemsOf(() => parseExtraVars([`{ "x": [${Array(40000).fill('1').join(', ')}] }`]))[0]).toMatch(/this file holds more than 64 000 YAML tokens/);
  });

  it('within the budget is read', () => {
    expect(MAX_YAML_TOKENS).toBe(64_000);
    expect(parsePlaybook(tasks(1800), 'many.yaml').plays[0]!.tasks).toHaveLength(1800);
  });

  it('a second YAML document is refused at its start', () => {
    expect(problemsOf(() => parsePlaybook('- name: a\n  hosts: all\n  tasks: []\n---\n- name: b\n', 'two.yaml'))[0]).toMatch(
      /^two\.yaml:4:1: invalid YAML: the file holds more than one YAML document \(a second "---"\); a playbook or inventory is one/,
    );
  });
});

describe('thousands of problems', () => {
  it('the CLI prints the first 50 and how many more there are', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgplay-limits-'));
    try {
      const tasks = Array.from({ length: 200 }, (_, i) => `    - name: t${i}\n      ip_rule: { table: 41, priority: -1 }`).join('\n');
      writeFileSync(join(dir, 'bad.yaml'), `- name: bad\n  hosts: all\n  tasks:\n${tasks}\n`);
      writeFileSync(join(dir, 'inventory.yaml'), 'all:\n  hosts:\n    gw:\n');
      const chunks: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((chunk: string) => (chunks.push(chunk), true)) as typeof process.stderr.write;
      try {
        expect(await main(['validate', join(dir, 'bad.yaml'), '-i', join(dir, 'inventory.yaml')])).toBe(1);
      } finally {
        process.stderr.write = write;
      }
      const lines = chunks.join('').trimEnd().split('\n');
      expect(lines).toHaveLength(1 + 50 + 1);
      expect(lines[1]).toBe(`  ${join(dir, 'bad.yaml')}:5:39: task "t0", ip_rule.priority: must be >= 1 (got -1)`);
      expect(lines[50]).toBe(`  ${join(dir, 'bad.yaml')}:103:39: task "t49", ip_rule.priority: must be >= 1 (got -1)`);
      expect(lines[51]).toBe(`  ... and 150 more problems (the first ${MAX_PROBLEMS_SHOWN} are shown; --json lists them all)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
