import type { ExpandingModule, TaskModule } from './types.js';

// Every task a playbook may name. Primitive tasks plan changes; expanding modules
// (src/modules) turn their arguments into primitive tasks.
const primitive = new Map<string, TaskModule>();
const expanding = new Map<string, ExpandingModule>();

export function registerTask(module: TaskModule): void {
  primitive.set(module.name, module);
}

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
