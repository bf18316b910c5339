// A task whose methods take arguments as a playbook writes them: validated first (ajv
// fills in the schema's defaults), as the engine does before calling the task.
import { planTasks } from '../../src/engine/run.js';
import type { HostFacts } from '../../src/facts/types.js';
import { validateArgs } from '../../src/playbook/validate.js';
import type { Change, TaskModule } from '../../src/tasks/types.js';
import { gatewaySchema, type GatewayArgs, type GatewayInput } from '../../src/modules/gateway/args.js';

/** Gateway arguments as the engine hands them to the module: validated, every default filled in. */
export function gatewayArgs(input: GatewayInput): GatewayArgs {
  const copy = structuredClone(input);
  validateArgs('wireguard_gateway', gatewaySchema, undefined, copy);
  return copy as GatewayArgs;
}

export function validatedTask(task: TaskModule) {
  const fill = (args: unknown) => {
    const copy = structuredClone(args);
    validateArgs(task.name, task.schema, undefined, copy);
    return copy;
  };
  return {
    ...task,
    check: (args: unknown) => task.check?.(fill(args)) ?? [],
    claims: (args: unknown) => task.claims(fill(args)),
    facts: (args: unknown) => task.facts(fill(args)),
    /** Planned as the engine plans: a missing program or a throwing plan is an error. */
    plan(args: unknown, facts: HostFacts): Change[] {
      const [result] = planTasks([{ invocation: { name: 't', module: task.name, args: fill(args) }, module: task }], facts);
      if (result!.error) throw new Error(result!.error);
      return result!.changes;
    },
  };
}
