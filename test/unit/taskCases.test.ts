// Runs every case of fixtures/tasks/<task>/<case>.json (see taskCases.ts for the format).
// UPDATE_TASK_CASES=1 rewrites the expectations from the code: only to review them by hand.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findModule, findTask, knownTaskNames } from '../../src/catalog.js';
import { changeOf, loadCases, planCase, validationProblems } from './taskCases.js';

const cases = loadCases();
const update = process.env.UPDATE_TASK_CASES === '1';

describe.each([...new Set(cases.map((c) => c.task))])('%s', (task) => {
  it.each(cases.filter((c) => c.task === task).map((c) => [c.name, c] as const))('%s', async (_, { data, file }) => {
    const module = data.task ?? task;
    expect(findTask(module) ?? findModule(module), `unknown task ${module}`).toBeDefined();
    if (data.invalid) {
      const problems = validationProblems(module, data.args);
      expect(problems).toHaveLength(data.invalid.length);
      data.invalid.forEach((text, index) => expect(problems[index]).toContain(text));
      return;
    }
    expect(validationProblems(module, data.args)).toEqual([]);
    const { changes, error } = await planCase(module, data);
    if (data.error !== undefined) {
      expect(error).toContain(data.error);
      return;
    }
    expect(error).toBeUndefined();
    for (const secret of data.diffNeverContains ?? []) {
      for (const change of changes) expect(change.diff).not.toContain(secret);
    }
    if (update) {
      if (data.resources) data.resources = changes.map((change) => `${change.action} ${change.resource}`);
      else data.changes = changes.map(changeOf);
      writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
      return;
    }
    if (data.resources) expect(changes.map((change) => `${change.action} ${change.resource}`)).toEqual(data.resources);
    else expect(changes.map(changeOf)).toEqual(data.changes);
  });
});

it('covers every primitive task and the gateway module', () => {
  expect([...new Set(cases.map((c) => c.task))].sort()).toEqual(knownTaskNames());
});
