// Every task and module a playbook (or a library user) can name: the catalogs of
// src/tasks and src/modules, plus any a library user registers.
import { expandingModules } from './modules/index.js';
import { primitiveTasks } from './tasks/index.js';
import type { ExpandingModule, TaskModule } from './tasks/types.js';

const primitive = new Map<string, TaskModule>(primitiveTasks.map((task) => [task.name, task]));
const expanding = new Map<string, ExpandingModule>(expandingModules.map((module) => [module.name, module]));

/** Adds (or replaces) a primitive task, for a library user's own tasks. */
export function registerTask(module: TaskModule): void {
  primitive.set(module.name, module);
}

/** Adds (or replaces) an expanding module, for a library user's own modules. */
export function registerModule(module: ExpandingModule): void {
  expanding.set(module.name, module);
}

export function findTask(name: string): TaskModule | undefined {
  return primitive.get(name);
}

export function findModule(name: string): ExpandingModule | undefined {
  return expanding.get(name);
}

export function knownTaskNames(): string[] {
  return [...primitive.keys(), ...expanding.keys()].sort();
}
