// Invalid nft is refused on the controller, before any host is contacted, where the
// controller has nft and can make a throwaway network namespace: every nft_table's text
// (the gateway's generated tables included) goes through `nft -c -f -` inside
// `unshare -n` (as root) or `unshare -rn` (a user namespace, as anyone else). nft -c
// never commits, and the namespace is empty and gone when nft exits: the controller's
// own ruleset is never read or touched. Where this cannot run, the host checks the same
// text in the facts round trip (factScript's nft_canonical), still before any change.
import { spawn } from 'node:child_process';
import { WgplayError, type Problem } from '../errors.js';
import { nftRefusal, renderNftTable } from '../tasks/nftTable.js';
import type { TaskInvocation } from '../tasks/types.js';

type NftTableArgs = Parameters<typeof nftRefusal>[0];

/** nft's verdict on a text: undefined when it accepts it, else its error output. */
type Verdict = string | undefined;

const CHECK_TIMEOUT_MS = 5_000;
/** A table that any nft accepts: proves the namespace and nft -c work here. */
const PROBE = 'table inet wgplay_probe {\n\tchain c {\n\t}\n}\n';

function nftCheck(text: string): Promise<{ code: number | null; output: string }> {
  const unshare = process.getuid?.() === 0 ? ['-n'] : ['-rn'];
  return new Promise((resolve) => {
    const child = spawn('unshare', [...unshare, '--', 'nft', '-c', '-f', '-'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: CHECK_TIMEOUT_MS });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.stdin.on('error', () => undefined); // nft exited before reading it all: its status says why
    child.on('error', () => resolve({ code: null, output: '' })); // no unshare
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

let available: Promise<boolean> | undefined;
/** Whether nft -c runs in a throwaway namespace on this machine (asked once per process). */
function controllerCanCheck(): Promise<boolean> {
  available ??= nftCheck(PROBE).then((result) => result.code === 0);
  return available;
}

/** One check per distinct text: hosts and the repeated checks of one run share it. */
const remembered = new Map<string, Promise<Verdict | 'unavailable'>>();
const MAX_REMEMBERED = 1_000;

function verdictOf(text: string): Promise<Verdict | 'unavailable'> {
  let pending = remembered.get(text);
  if (!pending) {
    pending = nftCheck(text).then(({ code, output }) => {
      if (code === 0) return undefined;
      // Killed (timeout) or not started: no verdict; the host checks it.
      if (code === null) return 'unavailable';
      return output.trim();
    });
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(text, pending);
  }
  return pending;
}

/**
 * Throws one WgplayError naming every nft_table among these primitive tasks (a module's
 * expanded: the gateway's generated tables) whose text nft refuses, with the task's
 * place and nft's own message. Does nothing where the controller cannot check.
 */
export async function checkNftOnController(primitives: TaskInvocation[]): Promise<void> {
  const tables = primitives.filter(
    (invocation) => invocation.module === 'nft_table' && (invocation.args as NftTableArgs).state === 'present',
  );
  if (tables.length === 0 || !(await controllerCanCheck())) return;
  const verdicts = await Promise.all(tables.map((invocation) => verdictOf(`${renderNftTable(invocation.args as NftTableArgs)}\n`)));
  const problems: Problem[] = tables.flatMap((invocation, index) => {
    const verdict = verdicts[index];
    if (verdict === undefined || verdict === 'unavailable') return [];
    const args = invocation.args as NftTableArgs;
    return [
      {
        where: `${invocation.origin ? `${invocation.origin}: ` : ''}task "${invocation.name}", nft_table ${args.family} ${args.name}`,
        message: nftRefusal(args, verdict),
      },
    ];
  });
  if (problems.length > 0) throw new WgplayError(problems);
}
