// Input that would cost minutes or gigabytes to expand, or a stack overflow to resolve,
// is refused with its place (file:line:col), never a raw exception.
import { describe, expect, it } from 'vitest';
import { WgplayError } from '../../src/errors.js';
import { parseInventory } from '../../src/inventory/load.js';
import { parsePlaybook, resolvePlaybook } from '../../src/playbook/index.js';
import { MAX_VARIABLE_DEPTH } from '../../src/playbook/template.js';
import '../../src/tasks/index.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof WgplayError) return error.problems.map((p) => `${p.where}: ${p.message}`);
    throw error;
  }
  throw new Error('expected a WgplayError');
}

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
  it('20 000 variables deep is refused with a clear error, not a RangeError', () => {
    const vars = Array.from({ length: 20000 }, (_, i) => `    v${i}: "{{ v${i + 1} }}"`).join('\n');
    const text = `- name: chain\n  hosts: all\n  vars:\n${vars}\n    v20000: 41\n  tasks:\n    - name: rule\n      ip_rule: { table: "{{ v0 }}" }\n`;
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
  const deepBlock = (levels: number, indent: number) =>
    Array.from({ length: levels }, (_, d) => `${' '.repeat(2 * (d + indent))}k${d}:`).join('\n') + '\n';

  it('nesting deeper than the YAML parser can go is refused at its deepest line, in the playbook and the inventory', () => {
    const playbook = `- name: deep\n  hosts: all\n  vars:\n${deepBlock(3000, 2)}  tasks: []\n`;
    const [problem] = problemsOf(() => parsePlaybook(playbook, 'deep.yaml'));
    expect(problem).toMatch(/^deep\.yaml:\d+:\d+: .*the YAML is nested too deeply to read/);
    const inventory = `all:\n  hosts:\n    gw:\n  vars:\n${deepBlock(3000, 2)}`;
    expect(problemsOf(() => parseInventory(inventory, 'inventory.yaml'))[0]).toMatch(/^inventory\.yaml:\d+:\d+: .*the YAML is nested too deeply to read/);
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
