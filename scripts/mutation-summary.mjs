#!/usr/bin/env node
// Scores per folder from Stryker's JSON reports, counted as Stryker's "total" score is: the
// mutants ignoreStatic left out (static, covered by no test) are not counted; a "hybrid"
// one (static, and covered by a test too) was run and counts. Then the surviving mutants
// one per line:
//   node scripts/mutation-summary.mjs REPORT.json [REPORT.json...] [--files] [--survivors] [--reasons=docs/mutation-reasons.json]
// (--files: a line per file too; --reasons: each survivor with the reason docs/mutation-reasons.json
// gives it, matched by file and a piece of its line's source, then those without one, then
// the reasons for the reports' files that no survivor takes)
// Several reports (one per group of files, each run on its own) are merged file by file:
// a file in two reports counts as the later one measured it.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const flags = new Set(args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0]));
const reasonsFile = args.find((arg) => arg.startsWith('--reasons='))?.slice('--reasons='.length);
/** [{ file, line: a piece of the source line, mutators?: [names], reason }] */
const reasons = reasonsFile ? JSON.parse(readFileSync(reasonsFile, 'utf8')) : [];
const files = args.filter((arg) => !arg.startsWith('--'));
const report = { files: {} };
for (const file of files.length > 0 ? files : ['reports/mutation/mutation.json']) Object.assign(report.files, JSON.parse(readFileSync(file, 'utf8')).files);
const folders = new Map();
const perFile = new Map();
const survivors = [];
const used = new Set();
const blank = () => ({ killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0 });
for (const [path, { mutants, source }] of Object.entries(report.files)) {
  const folder = path.split('/').slice(0, 2).join('/');
  const counts = folders.get(folder) ?? blank();
  const own = blank();
  for (const mutant of mutants) {
    for (const c of [counts, own]) {
      if (mutant.status === 'Ignored') c.ignored++;
      else if (mutant.status === 'Killed') c.killed++;
      else if (mutant.status === 'Timeout') c.timeout++;
      else if (mutant.status === 'Survived') c.survived++;
      else if (mutant.status === 'NoCoverage') c.noCoverage++;
    }
    if (mutant.status === 'Survived' || mutant.status === 'NoCoverage') {
      const full = source.split('\n')[mutant.location.start.line - 1] ?? '';
      const line = full.trim().slice(0, 90);
      const found = reasons.find((r) => r.file === path && full.includes(r.line) && (!r.mutators || r.mutators.includes(mutant.mutatorName)));
      used.add(found);
      const reason = found?.reason;
      survivors.push({ reason, text: `${path}:${mutant.location.start.line}  ${mutant.mutatorName} -> ${JSON.stringify(mutant.replacement ?? '').slice(0, 60)}  [${mutant.status}]  ${line}` });
    }
  }
  folders.set(folder, counts);
  perFile.set(path, own);
}
const printScore = (name, c) => {
  const detected = c.killed + c.timeout;
  const total = detected + c.survived + c.noCoverage;
  console.log(`${name.padEnd(14)} ${((100 * detected) / total).toFixed(2).padStart(6)} %  killed ${c.killed}, timeout ${c.timeout}, survived ${c.survived}, no coverage ${c.noCoverage} (ignored as static: ${c.ignored})`);
};
for (const [folder, c] of [...folders].sort()) printScore(folder, c);
if (flags.has('--files')) for (const [path, c] of [...perFile].sort()) printScore(path, c);
if (flags.has('--survivors') && !reasonsFile) for (const { text } of survivors) console.log(text);
if (reasonsFile) {
  for (const { text, reason } of survivors.filter((s) => s.reason)) console.log(`${text}\n    -> ${reason}`);
  const unexplained = survivors.filter((s) => !s.reason);
  console.log(`\n${survivors.length - unexplained.length} survivors with a reason, ${unexplained.length} without:`);
  for (const { text } of unexplained) console.log(text);
  // A reason for a file these reports measured that no survivor takes any more: its
  // mutant is killed now (or the line changed), and the reason is to be removed.
  const stale = reasons.filter((r) => r.file in report.files && !used.has(r));
  console.log(`\n${stale.length} reasons no survivor of these reports takes:`);
  for (const r of stale) console.log(`${r.file}  ${JSON.stringify(r.line)}  ${r.reason.slice(0, 80)}`);
}
