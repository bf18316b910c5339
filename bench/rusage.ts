// Loaded into the wgplay CLI by the benchmark (`node --import .../rusage.js bin/wgplay.js`):
// at exit, the process's own CPU time and peak memory go to the file named by
// WGPLAY_BENCH_RUSAGE (wgplay talks SSH in-process, so this is the whole controller).
import { writeFileSync } from 'node:fs';

const out = process.env.WGPLAY_BENCH_RUSAGE;
if (out) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, maxRssKiB: usage.maxRSS }));
  });
}
