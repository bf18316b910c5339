#!/usr/bin/env node
// Issue 9's "before" number: the inventory oracle's corpus (fixtures/inventory/ansible)
// read by an OLD wgplay's inventory loader, compared with Debian's ansible-inventory
// leaf by leaf, as test/e2e/inventoryOracle.test.ts compares today's wgplay.
//
//   git worktree add /tmp/inv-before 2cf83e8 && (cd /tmp/inv-before && npm ci && npm run build)
//   npm run build && node scripts/oracle-before.mjs /tmp/inv-before
//
// Ansible is run exactly as the oracle runs it (test/e2e/ansibleOracle.ts, transpiled
// here, not copied), except that nothing is pinged: Ansible's connection of each host
// is today's connectionOf over ansible-inventory's own hostvars (today's wgplay
// matches `ansible -m ping -vvv` on the whole corpus, so this is Ansible's connection).
import { readdirSync, readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs, isDeepStrictEqual } from 'node:util';
import ts from 'typescript';

const oldRoot = resolve(process.argv[2] ?? '/tmp/inv-before');
const here = new URL('..', import.meta.url).pathname;
const CORPUS = join(here, 'fixtures/inventory/ansible');

// test/e2e/ansibleOracle.ts imports node builtins only: transpiled, it runs as is.
const oracleSource = readFileSync(join(here, 'test/e2e/ansibleOracle.ts'), 'utf8');
const oracleFile = join(mkdtempSync(join(tmpdir(), 'oracle-before-')), 'ansibleOracle.mjs');
writeFileSync(oracleFile, ts.transpileModule(oracleSource, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText);
const { ansibleList, ansibleHost, ansibleMagic } = await import(oracleFile);

const { connectionOf: connectionNow } = await import(join(here, 'dist/src/inventory/connection.js'));
const { inventoryListJson } = await import(join(here, 'dist/src/inventory/listJson.js'));
const { loadInventory: loadOld } = await import(join(oldRoot, 'dist/src/inventory/load.js'));
const { connectionOf: connectionOld } = await import(join(oldRoot, 'dist/src/inventory/connection.js'));

// The old CLI's options (src/cli/common.ts at 2cf83e8): one -i (parseArgs: the last wins).
const OLD_OPTIONS = { inventory: { type: 'string', short: 'i' }, limit: { type: 'string', short: 'l' } };

/** The old CLI's reading of `args`: its -i, and the options it would have refused. */
function oldCommandLine(args) {
  let refused;
  try {
    parseArgs({ args, options: OLD_OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    refused = e.message.split('.')[0];
  }
  const { values } = parseArgs({ args, options: OLD_OPTIONS, allowPositionals: true, strict: false });
  return { inventory: values.inventory, refused, several: args.filter((a) => a === '-i').length > 1 };
}

const show = (value) => (value === undefined ? '(absent)' : JSON.stringify(value));

/** test/e2e/inventoryOracle.test.ts's rule: every differing leaf, as "path: ansible X, before Y". */
function differences(path, ansible, before, out) {
  if (isDeepStrictEqual(ansible, before)) return;
  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(ansible) && isObject(before)) {
    for (const key of new Set([...Object.keys(ansible), ...Object.keys(before)])) differences(`${path}.${key}`, ansible[key], before[key], out);
    return;
  }
  out.push(`${path}: ansible ${show(ansible)}, before ${show(before)}`);
}

/** The magic variables as the old engine gave them (src/playbook/resolve.ts at 2cf83e8). */
function oldMagic(inventory, host) {
  const hosts = [...inventory.hosts.values()];
  const groups = { all: hosts.map((h) => h.name) };
  for (const h of hosts) for (const g of h.groups) if (g !== 'all') (groups[g] ??= []).push(h.name);
  return { inventory_hostname: host.name, group_names: [...host.groups], groups };
}

function asConnection(c) {
  const connection = { user: c.user, address: c.address, port: c.port };
  if (c.privateKeyFile) connection.key = c.privateKeyFile;
  if (c.jumpHosts) connection.jump = c.jumpHosts.map((j) => j.spec).join(',');
  return connection;
}

const cases = readdirSync(CORPUS).filter((name) => !name.startsWith('.')).sort();
let failed = 0;
let leaves = 0;
/** Mismatches by what differs: variables, group membership, connection. */
const kinds = { vars: 0, groups: 0, connection: 0 };
const kindOf = (m) => (m.startsWith('connection of ') ? 'connection' : /^--(list\._meta|host )/.test(m) ? 'vars' : 'groups');
for (const name of cases) {
  const dir = join(CORPUS, name);
  const { args } = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
  process.chdir(dir); // relative key paths resolve as a CLI run from the case's folder would
  const cli = oldCommandLine(args);
  const notes = [];
  if (cli.several) notes.push(`several -i: only ${cli.inventory} read`);
  if (cli.refused) notes.push(`old CLI would refuse: ${cli.refused} (ignored here)`);

  const list = await ansibleList(dir, args);
  const magic = await ansibleMagic(dir, args);
  let inventory;
  try {
    inventory = loadOld(isAbsolute(cli.inventory) ? cli.inventory : join(dir, cli.inventory));
  } catch (e) {
    failed++;
    const message = (e.problems ?? [{ message: e.message }]).map((p) => p.message).join('; ');
    console.log(`${name}: FAILS to load (${message.slice(0, 110)})${notes.length ? `; ${notes.join('; ')}` : ''}`);
    continue;
  }

  const mismatches = [];
  differences('--list', list, inventoryListJson(inventory), mismatches);
  // The first host in the inventory's order (groups.all): the oracle takes the first
  // line of `ansible -m debug`, whose order changes from run to run.
  for (const host of [...magic.values()][0].groups.all.slice(0, 1)) {
    const ours = inventory.hosts.get(host);
    differences(`--host ${host}`, await ansibleHost(dir, args, host), ours ? ours.vars : `no host ${host}`, mismatches);
  }
  for (const [host, vars] of magic) {
    const ours = inventory.hosts.get(host);
    differences(host, vars, ours && oldMagic(inventory, ours), mismatches);
  }
  for (const host of magic.keys()) {
    const theirs = asConnection(connectionNow({ name: host, vars: list._meta.hostvars[host] ?? {}, groups: [] }));
    const ours = inventory.hosts.get(host);
    let mine;
    try {
      mine = ours && asConnection(connectionOld(ours));
    } catch (e) {
      mine = `refused: ${e.problems?.map((p) => p.message).join('; ') ?? e.message}`;
    }
    differences(`connection of ${host}`, theirs, mine, mismatches);
  }
  leaves += mismatches.length;
  for (const m of mismatches) kinds[kindOf(m)]++;
  console.log(`${name}: loads, ${mismatches.length} mismatches${notes.length ? `; ${notes.join('; ')}` : ''}`);
  if (process.env.VERBOSE) for (const m of mismatches) console.log(`    ${m}`);
}
console.log(`inventory corpus before: ${cases.length} inventories, ${failed} fail to load, ${leaves} mismatches in the ${cases.length - failed} that load`);
console.log(`  of which: ${kinds.vars} in variables (--list hostvars, --host), ${kinds.groups} in groups (--list groups, group_names, groups), ${kinds.connection} in connections`);
