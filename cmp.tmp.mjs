import { readFileSync } from 'node:fs';
const oldP = await import('/tmp/rest/olddist/src/playbook/index.js');
const newP = await import('./dist/src/playbook/index.js');
await import('./dist/src/tasks/index.js'); await import('/tmp/rest/olddist/src/tasks/index.js');
const text = readFileSync('/tmp/rest/chain.yaml', 'utf8');
const cpu = (P) => { const c = process.cpuUsage(); try { P.resolvePlaybook(P.parsePlaybook(text, 'x'), [{ name: 'gw', vars: {} }], () => ['gw']); } catch {} const d = process.cpuUsage(c); return (d.user + d.system) / 1000; };
const o = [], n = [];
for (let i = 0; i < 8; i++) { o.push(cpu(oldP)); n.push(cpu(newP)); }
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1].toFixed(0);
console.log('old median cpu ms', med(o), 'new', med(n));
