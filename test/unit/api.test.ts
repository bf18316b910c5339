// The library's public API without a host: runs from text and objects, typed task
// constructors validated exactly as YAML tasks are, errors placed by name and pointer.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import * as wgplay from '../../src/index.js';
import { createRun, parseInventory, parsePlaybook, playbookFromObject, tasks } from '../../src/index.js';
import { problemsOf } from './problems.js';

const inventory = parseInventory(stringify({ all: { hosts: { gw: { ansible_connection: 'local' } } } }), 'deploy-inventory');


describe('a run from objects', () => {
  it('typed constructors make playbook tasks; the run holds them validated, with defaults', () => {
    const rule = tasks.ipRule({ from: '10.200.200.1', table: 41, priority: 100 }, 'policy rule');
    expect(rule).toEqual({ name: 'policy rule', ip_rule: { from: '10.200.200.1', table: 41, priority: 100 } });
    const run = createRun({ inventory, playbook: playbookFromObject([{ name: 'deploy', hosts: 'all', tasks: [rule] }], { name: 'deploy' }) });
    expect(run.hosts.map(({ host, tasks }) => [host.name, tasks.map((task) => [task.module, task.origin])])).toEqual([['gw', [['ip_rule', 'deploy:/0/tasks/0']]]]);
    expect(run.hosts[0]!.tasks[0]!.args).toMatchObject({ from: '10.200.200.1', table: 41, priority: 100, state: 'present' });
  });

  it('bad arguments are refused as in a YAML playbook, placed at name:/json/pointer, before any host is contacted', () => {
    const bad = playbookFromObject(
      [
        {
          name: 'deploy',
          hosts: 'all',
          tasks: [
            tasks.ipRule({ from: '10.0.0.1', table: 'x;reboot' as never }),
            tasks.file({ path: '/etc/x', content: 'x', mode: '999' as never }),
          ],
        },
      ],
      { name: 'deploy' },
    );
    const problems = problemsOf(() => createRun({ inventory, playbook: bad }));
    expect(problems.some((problem) => problem.startsWith('deploy:/0/tasks/0/ip_rule/table: '))).toBe(true);
    expect(problems.some((problem) => problem.startsWith('deploy:/0/tasks/1/file/mode: '))).toBe(true);

    // The same playbook as YAML text: the same messages, at file:line:col instead.
    const yaml = parsePlaybook(
      stringify([{ name: 'deploy', hosts: 'all', tasks: [{ name: 'ip_rule', ip_rule: { from: '10.0.0.1', table: 'x;reboot' } }, { name: 'file', file: { path: '/etc/x', content: 'x', mode: '999' } }] }]),
      'deploy.yaml',
    );
    const fromYaml = problemsOf(() => createRun({ inventory, playbook: yaml }));
    const messages = (list: string[]) => list.map((problem) => problem.replace(/^\S+: /, ''));
    expect(messages(problems)).toEqual(messages(fromYaml));
  });

  it('the structure of plays and tasks is checked too: unknown modules, a play without hosts, non-data values', () => {
    expect(problemsOf(() => playbookFromObject({ name: 'x' }, { name: 'deploy' }))).toEqual(['deploy:/: a playbook is a list of plays, not a mapping']);
    const unknown = problemsOf(() => playbookFromObject([{ name: 'p', hosts: 'all', tasks: [{ name: 't', nft_tabel: {} }] }], { name: 'deploy' }));
    expect(unknown.join('\n')).toMatch(/^deploy:\/0\/tasks\/0\/nft_tabel: .*did you mean "nft_table"/m);
    const fn = problemsOf(() => playbookFromObject([{ name: 'p', hosts: 'all', tasks: [{ name: 't', file: { path: '/x', content: () => 'x' } }] }], { name: 'deploy' }));
    expect(fn).toEqual(['deploy:/0/tasks/0/file/content: must be plain data (mappings, lists, strings, numbers, booleans), not function']);
  });
});

describe('the public API', () => {
  it('is what src/index.ts exports, and no engine internals', () => {
    const names = Object.keys(wgplay).sort();
    for (const name of ['createRun', 'plan', 'apply', 'savePlan', 'readPlan', 'tasks', 'WgplayEvents', 'parseInventory', 'playbookFromObject', 'WgplayError']) {
      expect(names).toContain(name);
    }
    for (const internal of ['runHost', 'gatherFacts', 'planTasks', 'compileApplyScript', 'buildFactScript', 'parseFacts', 'openTransport', 'runOneHost']) {
      expect(names).not.toContain(internal);
    }
  });
});
