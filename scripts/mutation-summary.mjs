#!/usr/bin/env node
// Scores per folder from Stryker's JSON report, static mutants left out (as ignoreStatic
// does), and the surviving mutants one per line: node scripts/mutation-summary.mjs REPORT.json [--survivors]
import { readFileSync } from 'node:fs';

const [file, flag] = process.argv.slice(2);
const report = JSON.parse(readFileSync(file ?? 'reports/mutation/mutation.json', 'utf8'));
const folders = new Map();
const survivors = [];
for (const [path, { mutants, source }] of Object.entries(report.files)) {
  const folder = path.split('/').slice(0, 2).join('/');
  const counts = folders.get(folder) ?? { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0 };
  for (const mutant of mutants) {
    if (mutant.static || mutant.status === 'Ignored') counts.ignored++;
    else if (mutant.status === 'Killed') counts.killed++;
    else if (mutant.status === 'Timeout') counts.timeout++;
    else if (mutant.status === 'Survived') counts.survived++;
    else if (mutant.status === 'NoCoverage') counts.noCoverage++;
    if (!mutant.static && (mutant.status === 'Survived' || mutant.status === 'NoCoverage')) {
      const line = source.split('\n')[mutant.location.start.line - 1]?.trim().slice(0, 90);
      survivors.push(`${path}:${mutant.location.start.line}  ${mutant.mutatorName} -> ${JSON.stringify(mutant.replacement ?? '').slice(0, 60)}  [${mutant.status}]  ${line}`);
    }
  }
  folders.set(folder, counts);
}
for (const [folder, c] of [...folders].sort()) {
  const detected = c.killed + c.timeout;
  const total = detected + c.survived + c.noCoverage;
  console.log(`${folder.padEnd(14)} ${((100 * detected) / total).toFixed(2).padStart(6)} %  killed ${c.killed}, timeout ${c.timeout}, survived ${c.survived}, no coverage ${c.noCoverage} (static, not counted: ${c.ignored})`);
}
if (flag === '--survivors') for (const line of survivors) console.log(line);
