import type { HostFacts, SshConnectionFact } from '../facts/types.js';
import type { PreparedTasks } from './run.js';

/**
 * The connection a host reached over SSH reported. Without it, no check could tell
 * whether an apply cuts wgplay's own path: the run stops instead of guessing from the
 * inventory's spelling of the address.
 */
export function sshConnectionOf(facts: HostFacts, overSsh: boolean): SshConnectionFact | undefined {
  if (!overSsh) return undefined; // a local run has no SSH path to cut
  if (!facts.sshConnection) {
    throw new Error(
      'the host did not report its end of the SSH connection (SSH_CONNECTION is empty): wgplay cannot check ' +
        'that the changes keep its SSH path open, so it changes nothing',
    );
  }
  return facts.sshConnection;
}

/** Every task that would cut wgplay's SSH connection, named. */
export function sshCuts(tasks: PreparedTasks, connection: SshConnectionFact, facts: HostFacts): string[] {
  return tasks.flatMap(({ invocation, module }) => {
    const why = module.cutsSsh?.(invocation.args, connection, facts);
    return why ? [`task "${invocation.name}"${invocation.origin ? ` (${invocation.origin})` : ''}: ${why}`] : [];
  });
}
