#!/usr/bin/env node
// The twelve deliberate breakages of issue 8, each applied to a scratch copy of the
// repository; the unit suite must fail on every one (`npm run breakages`, by hand: ~5 min).
// A breakage whose code no longer exists fails the run: rewrite it for the new code.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** [what a user would see, file, code as it is, code broken]. */
export const BREAKAGES = [
  ['ip_rule ignores the priority', 'src/tasks/ipRule.ts', '(args.priority === undefined || fact.priority === args.priority)', 'true'],
  ["a peer's keepalive drift goes unnoticed", 'src/tasks/wireguardInterface.ts', 'return (want.persistent_keepalive ?? 0) !== (have.persistentKeepalive ?? 0);', 'return false;'],
  ["a file's mode drift goes unnoticed", 'src/tasks/shared/files.ts', 'fact?.mode !== desired.mode || ', ''],
  ['nft set flags are not compared', 'src/tasks/nftTable.ts', 'if (sorted(have.flags) !== sorted(want.flags))', 'if (false)'],
  ['verify never fails', 'src/engine/run.ts', 'if (leftover.length > 0) {', 'if (false) {'],
  ["a secret file's diff is shown", 'src/tasks/shared/files.ts', 'if (desired.secret) {', 'if (false) {'],
  ['sysctl values are compared as spelled', 'src/tasks/sysctl.ts', "value.trim().replace(/\\s+/g, ' ')", 'value'],
  ['apply phases run in reverse order', 'src/engine/compile.ts', 'for (const phase of PHASES) {', 'for (const phase of [...PHASES].reverse()) {'],
  ['a changed nft map value is kept', 'src/tasks/nftElement.ts', 'if (current.value === value) return [];', 'return [];'],
  ['a route through another device counts as present', 'src/tasks/ipRoute.ts', '(args.dev === undefined || route.dev === args.dev)', 'true'],
  ['peers removed from the arguments stay on the interface', 'src/tasks/wireguardInterface.ts', 'if ((args.peers ?? []).some((peer) => peer.public_key === have.publicKey)) continue;', 'continue;'],
  ['a failed apply script is reported as success', 'src/engine/run.ts', 'if (result.code !== 0) {\n    const phase', 'if (false) {\n    const phase'],
];

const only = process.argv[2] ? Number(process.argv[2]) : undefined;
let survived = 0;
for (const [index, [what, file, code, broken]] of BREAKAGES.entries()) {
  if (only !== undefined && only !== index + 1) continue;
  const source = readFileSync(join(root, file), 'utf8');
  const count = source.split(code).length - 1;
  if (count !== 1) {
    console.log(`${index + 1}. ${what}: ${file} has ${count} copies of the code it breaks; rewrite this breakage`);
    survived++;
    continue;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'wgplay-breakage-'));
  try {
    for (const entry of ['src', 'test', 'fixtures', 'playbooks', 'package.json', 'tsconfig.json', 'vitest.unit.config.ts']) {
      cpSync(join(root, entry), join(scratch, entry), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
    writeFileSync(join(scratch, file), source.replace(code, broken));
    const run = spawnSync('npx', ['vitest', 'run', '--config', 'vitest.unit.config.ts', '--reporter', 'json'], { cwd: scratch, encoding: 'utf8', maxBuffer: 1 << 28 });
    let failed = [];
    try {
      const report = JSON.parse(run.stdout);
      failed = report.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName));
    } catch {
      failed = run.status === 0 ? [] : ['(the suite did not run)'];
    }
    const caught = run.status !== 0 && failed.length > 0;
    if (!caught) survived++;
    console.log(`${index + 1}. ${what}: ${caught ? `CAUGHT by ${failed.length} test(s), e.g. "${failed[0]}"` : 'SURVIVED'}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
console.log(survived === 0 ? 'every breakage was caught' : `${survived} breakage(s) survived`);
process.exit(survived === 0 ? 0 : 1);
