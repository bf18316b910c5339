// Every task's and module's arguments are documented from their schemas: `wgplay doc`
// and docs/TASKS.md say what each argument is, and docs/TASKS.md is current.
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { knownTaskNames } from '../../src/catalog.js';
import { documentedArguments, runDoc, tasksMarkdown } from '../../src/cli/doc.js';

function output(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: runDoc(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('wgplay doc', () => {
  it('describes every argument of every task and module', () => {
    const undescribed = knownTaskNames().flatMap((name) =>
      documentedArguments(name).filter((argument) => argument.description.trim() === '').map((argument) => `${name}: ${argument.path}`),
    );
    expect(undescribed).toEqual([]);
    expect(documentedArguments('wireguard_gateway').map((argument) => argument.path)).toContain('customers[].translated_address');
  });

  it('lists the tasks with what they do, and one task with its arguments and defaults', () => {
    const list = output([]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^nft_element +One element present \(or absent\) in a named nftables set or map/m);
    const task = output(['nft_element']);
    expect(task.out).toContain('nft_element: One element present');
    expect(task.out).toMatch(/ {2}family {2}\("inet" \| "ip" .*; default "inet"\)\n {6}\S/);
    const unknown = output(['nft_elemnt']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no task or module named "nft_elemnt"');
  });

  it('docs/TASKS.md is the current reference (regenerate with npm run docs)', () => {
    expect(readFileSync('docs/TASKS.md', 'utf8')).toBe(tasksMarkdown());
  });
});
