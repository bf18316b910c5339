#!/usr/bin/env node
// The twelve deliberate breakages of issue 8, each applied to a scratch copy of the
// working tree; the unit suite must fail on every one (`npm run breakages`, by hand:
// 13 runs of the unit suite; `npm run breakages -- 3 9` tries those alone).
// A breakage whose code no longer exists fails the run: rewrite it for the new code.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** [what a user would see, file, code as it is, code broken]. */
export const BREAKAGES = [
  ['ip_rule ignores the priority', 'src/tasks/ipRule.ts', '(args.priority === undefined || fact.priority === args.priority)', 'true'],
  ["a peer's keepalive drift goes unnoticed", 'src/tasks/wireguardInterface.ts', 'return (want.persistent_keepalive ?? 0) !== (have.persistentKeepalive ?? 0);', 'return false;'],
  ["a file's mode drift goes unnoticed", 'src/tasks/shared/files.ts', 'fact?.mode !== desired.mode || ', ''],
  ['nft set flags are not compared', 'src/tasks/nftTable.ts', 'if (sorted(have.flags) !== sorted(want.flags))', 'if (false)'],
  ['verify never fails', 'src/engine/run.ts', 'if (leftover.length > 0) {', 'if (false) {'],
  ["a secret file's diff is shown", 'src/tasks/shared/files.ts', 'if (desired.secret || fact?.holdsKey || holdsPrivateKey(desired.content)) {', 'if (false) {'],
  ['sysctl values are compared as spelled', 'src/tasks/sysctl.ts', "value.trim().replace(/\\s+/g, ' ')", 'value'],
  ['apply phases run in reverse order', 'src/engine/compile.ts', 'for (const phase of phases) {', 'for (const phase of [...phases].reverse()) {'],
  ['a changed nft map value is kept', 'src/tasks/nftElement.ts', 'if (current.value === value) return [];', 'return [];'],
  ['a route through another device counts as present', 'src/tasks/ipRoute.ts', '(args.dev === undefined || route.dev === args.dev)', 'true'],
  ['peers removed from the arguments stay on the interface', 'src/tasks/wireguardInterface.ts', 'if ((args.peers ?? []).some((peer) => peer.public_key === have.publicKey)) continue;', 'continue;'],
  ['a failed apply script is reported as success', 'src/engine/run.ts', 'if (result.code !== 0) {\n      const phase', 'if (false) {\n      const phase'],
];

/** A scratch copy of the working tree (tracked and new files) with `file` broken as said. */
function scratchCopy(breakage) {
  const scratch = mkdtempSync(join(tmpdir(), 'wgplay-breakage-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    copyFileSync(join(root, file), join(scratch, file));
  }
  symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
  // The package test packs the built product: built from the unbroken sources (`npm run build` first).
  if (existsSync(join(root, 'dist'))) cpSync(join(root, 'dist'), join(scratch, 'dist'), { recursive: true });
  if (breakage) {
    const [, file, code, broken] = breakage;
    writeFileSync(join(scratch, file), readFileSync(join(root, file), 'utf8').replace(code, broken));
  }
  return scratch;
}

/** The unit suite in a scratch copy: the names of the tests that failed. */
function failingTests(breakage) {
  const scratch = scratchCopy(breakage);
  try {
    // A breakage is caught at its first failing test: no need to run the rest.
    const bail = breakage ? ['--bail', '1'] : [];
    const run = spawnSync('npx', ['vitest', 'run', '--config', 'vitest.unit.config.ts', '--reporter', 'json', ...bail], { cwd: scratch, encoding: 'utf8', maxBuffer: 1 << 28 });
    try {
      const report = JSON.parse(run.stdout);
      return report.testResults.flatMap((f) => (f.assertionResults.length ? f.assertionResults : [{ status: f.status, fullName: f.name }]).filter((a) => a.status === 'failed').map((a) => a.fullName));
    } catch {
      return ['(the suite did not run)'];
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const only = process.argv.length > 2 ? new Set(process.argv.slice(2).map(Number)) : undefined;
// The suite must pass on the unbroken copy, or a breakage would look caught.
const control = failingTests(undefined);
if (control.length > 0) {
  console.log(`the unit suite fails without any breakage: ${control.join('; ')}`);
  process.exit(1);
}
let survived = 0;
for (const [index, breakage] of BREAKAGES.entries()) {
  const [what, file, code] = breakage;
  if (only && !only.has(index + 1)) continue;
  const count = readFileSync(join(root, file), 'utf8').split(code).length - 1;
  if (count !== 1) {
    console.log(`${index + 1}. ${what}: ${file} has ${count} copies of the code it breaks; rewrite this breakage`);
    survived++;
    continue;
  }
  const failed = failingTests(breakage);
  if (failed.length === 0) survived++;
  console.log(`${index + 1}. ${what}: ${failed.length > 0 ? `CAUGHT by "${failed[0]}"` : 'SURVIVED'}`);
}
console.log(survived === 0 ? 'every breakage was caught' : `${survived} breakage(s) survived`);
process.exit(survived === 0 ? 0 : 1);
