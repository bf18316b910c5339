import { describe, expect, it } from 'vitest';
import { WgplayError } from '../../src/errors.js';
import { loadInventory, parseInventory, selectHosts, type Inventory } from '../../src/inventory/index.js';
import { loadPlaybook, parsePlaybook, parseTemplate, resolvePlaybook } from '../../src/playbook/index.js';
import type { HostVars } from '../../src/playbook/index.js';
import { registerModule, registerTask } from '../../src/catalog.js';
import type { ArgumentProblem } from '../../src/tasks/types.js';
import { problemsOf } from './problems.js';

const F = 'fixtures/playbooks';
const validatePlaybookFile = (path: string, hosts: HostVars[], selectHosts: (pattern: string) => string[]) =>
  resolvePlaybook(loadPlaybook(path), hosts, selectHosts);

// ip_rule and sysctl are the real tasks; wg_gateway and wg_key are a library user's own
// (registered as src/catalog.ts allows), to show how their schemas and checks are placed.
registerModule({
  name: 'wg_gateway',
  summary: 'fake expanding module',
  schema: {
    type: 'object',
    properties: {
      customers: {
        type: 'array',
        items: {
          type: 'object',
          properties: { name: { type: 'string' }, listen_port: { type: 'integer' } },
          required: ['name', 'listen_port'],
          additionalProperties: false,
        },
      },
    },
    required: ['customers'],
    additionalProperties: false,
  },
  check(args: { customers: { name: string }[] }): ArgumentProblem[] {
    const seen = new Set<string>();
    const problems: ArgumentProblem[] = [];
    args.customers.forEach((c, i) => {
      if (seen.has(c.name)) problems.push({ path: `/customers/${i}/name`, message: `duplicate customer name "${c.name}"` });
      seen.add(c.name);
    });
    return problems;
  },
  expand: () => [],
});

registerTask({
  name: 'wg_key',
  summary: 'fake task with a secret argument',
  schema: {
    type: 'object',
    properties: { private_key: { type: 'string', pattern: '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$' } },
    additionalProperties: false,
  },
  facts: () => ({}) as never,
  plan: () => [],
});

const HOSTS: HostVars[] = [
  { name: 'gw1', vars: { wg_private_key: 'supersecret', priority: 100, region: 'host-region', customers: [{ name: 'acme', listen_port: 51820 }] }, groups: ['gateways'] },
  { name: 'gw2', vars: { priority: 'abc', region: 'host-region', customers: [] }, groups: ['gateways'] },
  { name: 'db1', vars: {}, groups: ['databases'] },
];

function select(pattern: string): string[] {
  if (pattern === 'all') return HOSTS.map((h) => h.name);
  if (pattern === 'gateways') return ['gw1', 'gw2'];
  if (pattern === 'gw1') return ['gw1'];
  if (pattern.endsWith('*')) return HOSTS.map((h) => h.name).filter((n) => n.startsWith(pattern.slice(0, -1)));
  throw new WgplayError(`unknown host or group "${pattern}"`);
}



/** Hosts as loadRun hands them to resolvePlaybook, with the inventory's positions. */
function inventoryHosts(inventory: Inventory): [HostVars[], (pattern: string) => string[]] {
  const hosts = [...inventory.hosts.values()].map((host) => ({ name: host.name, vars: host.vars, groups: host.groups, varOrigins: host.varOrigins }));
  return [hosts, (pattern) => selectHosts(inventory, pattern).map((host) => host.name)];
}

const load = (name: string) => () => loadPlaybook(`${F}/${name}.yaml`);
const validate = (name: string) => () => validatePlaybookFile(`${F}/${name}.yaml`, HOSTS, select);

describe('loadPlaybook', () => {
  it('reports malformed YAML with file:line:col and the offending line', () => {
    expect(problemsOf(load('malformed-indent'))).toEqual([
      'fixtures/playbooks/malformed-indent.yaml:7:1: invalid YAML: All mapping items must start at the same column\n' +
        '           priority: 100\n' +
        '    ^',
    ]);
    expect(problemsOf(load('malformed'))).toEqual([
      'fixtures/playbooks/malformed.yaml:6:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
  });

  it('reports every structural problem: unknown keys, unknown modules, two or no modules', () => {
    expect(problemsOf(load('structure'))).toEqual([
      'fixtures/playbooks/structure.yaml:3:3: play "structure": unknown key "task" (did you mean "tasks"?); a play has: name, hosts, vars, tasks',
      'fixtures/playbooks/structure.yaml:1:3: play "structure": missing "tasks" (a list of tasks)',
      'fixtures/playbooks/structure.yaml:9:7: task "ansible habit": "when" is not supported: a wgplay task has a "name" and exactly one module',
      'fixtures/playbooks/structure.yaml:11:7: task "typo": unknown module "ip_rul" (did you mean "ip_rule"?); known modules: file, ip_route, ip_rule, nft_element, nft_table, sysctl, wg_gateway, wg_key, wireguard_gateway, wireguard_interface',
      'fixtures/playbooks/structure.yaml:13:7: task "two at once" has 2 modules, "ip_rule" and "sysctl": a task runs exactly one module; split it into 2 tasks',
      'fixtures/playbooks/structure.yaml:16:7: task "nothing to do" names no module; a task needs exactly one of: file, ip_route, ip_rule, nft_element, nft_table, sysctl, wg_gateway, wg_key, wireguard_gateway, wireguard_interface',
    ]);
  });

  it('rejects template syntax beyond {{ var.path }} at load time', () => {
    expect(problemsOf(load('bad-template'))).toEqual([
      'fixtures/playbooks/bad-template.yaml:4:8: play "syntax", vars.x: unsupported template "{{ y | default(1) }}": filters are not supported',
      'fixtures/playbooks/bad-template.yaml:9:16: task "expression": unsupported template "{{ 40 + 1 }}": only a variable name with an optional .field / .0 / [0] path is allowed (no filters, expressions or code)',
      'fixtures/playbooks/bad-template.yaml:13:16: task "unclosed": unclosed "{{" in "{{ unclosed": a template is written {{ variable }}',
    ]);
  });

  it('reports a missing file', () => {
    expect(problemsOf(load('nope'))).toEqual(['fixtures/playbooks/nope.yaml: cannot read playbook: no such file']);
  });

  it('keeps positions of plays, tasks and arguments', () => {
    const playbook = loadPlaybook(`${F}/templating.yaml`);
    expect(playbook.plays).toHaveLength(1);
    const play = playbook.plays[0]!;
    expect(play).toMatchObject({ name: 'templating', hosts: 'gateways', hostsWhere: `${F}/templating.yaml:2:10` });
    expect(play.vars.map((v) => v.key)).toEqual(['table', 'rule_from', 'lan', 'region']);
    expect(play.tasks.map((t) => [t.module, t.origin])).toEqual([
      ['ip_rule', `${F}/templating.yaml:11:7`],
      ['sysctl', `${F}/templating.yaml:16:7`],
      ['wg_gateway', `${F}/templating.yaml:20:7`],
    ]);
  });
});

describe('resolvePlaybook: argument validation', () => {
  it('points at the argument itself, with human messages', () => {
    expect(problemsOf(validate('bad-args'))).toEqual([
      'fixtures/playbooks/bad-args.yaml:7:19: task "ensure rule", ip_rule.priority: must be integer (got "abc")',
      'fixtures/playbooks/bad-args.yaml:8:9: task "ensure rule", ip_rule: additional property "prio" is not allowed (did you mean "priority"?)',
      'fixtures/playbooks/bad-args.yaml:9:16: task "ensure rule", ip_rule.state: must be one of "present", "absent" (got "presnt"; did you mean "present"?)',
      'fixtures/playbooks/bad-args.yaml:11:7: task "missing table", ip_rule: missing required argument "table"',
      'fixtures/playbooks/bad-args.yaml:16:19: task "too high", ip_rule.priority: must be <= 32765 (got 40000)',
    ]);
  });

  it('points at the template and names the variable a bad value came from', () => {
    expect(problemsOf(validate('template-types'))).toEqual([
      'fixtures/playbooks/template-types.yaml:13:19: task "ensure rule", ip_rule.priority: must be integer (got "abc", from variable "priority" of host gw2)',
      'fixtures/playbooks/template-types.yaml:16:20: task "gateway", wg_gateway.customers[1].listen_port: must be integer (got "51821", from variable "customers" at fixtures/playbooks/template-types.yaml:8:22)',
    ]);
  });

  it('maps check() problems to positions, through templates into the variable definition', () => {
    expect(problemsOf(validate('check'))).toEqual([
      'fixtures/playbooks/check.yaml:12:20: task "gateway", wg_gateway.customers[1].name: duplicate customer name "acme" (from variable "customers" at fixtures/playbooks/check.yaml:7:15)',
      'fixtures/playbooks/check.yaml:17:21: task "literal", wg_gateway.customers[1].name: duplicate customer name "globex"',
    ]);
  });

  it('never shows a secret value', () => {
    const problems = problemsOf(validate('secret'));
    expect(problems).toEqual([
      'fixtures/playbooks/secret.yaml:6:22: task "key", wg_key.private_key: must match the pattern ^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$ (got a string of 11 characters, not shown, from variable "wg_private_key" of host gw1)',
    ]);
    expect(problems.join('\n')).not.toContain('supersecret');
  });
});

describe('resolvePlaybook: values from the inventory', () => {
  const I = 'fixtures/inventory/customers.yaml';
  const P = `${F}/inventory-customers.yaml`;

  it('points at the bad value where the inventory writes it: group vars, or the host vars that replace them', () => {
    const [hosts, selectFrom] = inventoryHosts(loadInventory(I));
    expect(problemsOf(() => validatePlaybookFile(P, hosts, selectFrom))).toEqual([
      // gw1 and gw4 take the group's list...
      `${I}:12:26: customers[1].listen_port: must be integer (got "51821"), used by task "gateway" at ${P}:6:20 on hosts gw1, gw4`,
      // ...gw2 its own, which replaces it: the group's bad value is not gw2's problem.
      `${I}:23:28: customers[2].listen_port: must be integer (got a list), used by task "gateway" at ${P}:6:20 on host gw2`,
      // A module's check() (wg_gateway: duplicate names) is placed the same way.
      `${I}:27:23: customers[1].name: duplicate customer name "acme", used by task "gateway" at ${P}:6:20 on host gw3`,
    ]);
  });

  it('names the argument and the play variables a value went through, points at keys, reports problems inside inventory variables there', () => {
    const inventory = parseInventory(
      [
        'all:',
        '  vars:',
        '    prio: "100"',
        '    label: "{{ nope }}"',
        '  hosts:',
        '    gw1:',
        '      customers:',
        '        - { name: acme, listen_port: 1, prot: 2 }',
      ].join('\n'),
      'i.yaml',
    );
    const playbook = parsePlaybook(
      [
        '- name: p',
        '  hosts: all',
        '  vars:',
        '    p: "{{ prio }}"',
        '  tasks:',
        '    - name: rule',
        '      ip_rule: { table: 1, priority: "{{ p }}" }',
        '    - name: gateway',
        '      wg_gateway: { customers: "{{ customers }}" }',
        '    - name: label',
        '      sysctl: { key: net.ipv4.ip_forward, value: "{{ label }}" }',
      ].join('\n'),
      'p.yaml',
    );
    const [hosts, selectFrom] = inventoryHosts(inventory);
    expect(problemsOf(() => resolvePlaybook(playbook, hosts, selectFrom))).toEqual([
      'i.yaml:3:11: prio: must be integer (got "100"), used by task "rule" as ip_rule.priority at p.yaml:7:38 through variable "p" at p.yaml:4:8 on host gw1',
      // A problem inside an inventory variable, at its definition.
      'i.yaml:4:12: label: undefined variable "nope"',
      // An unknown key: at the key.
      'i.yaml:8:41: customers[0]: additional property "prot" is not allowed; allowed: name, listen_port, used by task "gateway" at p.yaml:9:32 on host gw1',
    ]);
  });

  it('reports a bad group value once for all the hosts that use it', () => {
    const [hosts, selectFrom] = inventoryHosts(
      parseInventory('gateways:\n  vars:\n    customers: [{ name: 7, listen_port: 1 }]\n  hosts:\n    gw[1:8]:\n', 'i.yaml'),
    );
    expect(problemsOf(() => validatePlaybookFile(`${F}/inventory-customers.yaml`, hosts, selectFrom))).toEqual([
      `i.yaml:3:25: customers[0].name: must be string (got 7), used by task "gateway" at ${F}/inventory-customers.yaml:6:20 on hosts gw1, gw2, gw3, gw4, gw5 and 3 more`,
    ]);
  });

  it('never shows a secret value from the inventory either', () => {
    const [hosts, selectFrom] = inventoryHosts(parseInventory('all:\n  hosts:\n    gw1: { wg_private_key: supersecret }\n', 'i.yaml'));
    const problems = problemsOf(() => resolvePlaybook(loadPlaybook(`${F}/secret.yaml`), hosts, selectFrom));
    expect(problems).toEqual([
      `i.yaml:3:28: wg_private_key: must match the pattern ^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$ (got a string of 11 characters, not shown), used by task "key" as wg_key.private_key at ${F}/secret.yaml:6:22 on host gw1`,
    ]);
    expect(problems.join('\n')).not.toContain('supersecret');
  });

  it('keeps pointing at the template for hosts without positions', () => {
    const [hosts, selectFrom] = inventoryHosts(loadInventory(I));
    const bare = hosts.map(({ varOrigins: _, ...host }) => host);
    expect(problemsOf(() => validatePlaybookFile(P, bare, selectFrom))[0]).toBe(
      `${P}:6:20: task "gateway", wg_gateway.customers[1].listen_port: must be integer (got "51821", from variable "customers" of host gw1)`,
    );
  });
});

describe('resolvePlaybook: templating', () => {
  it('gives native values to whole templates, strings to interpolations; play vars beat host vars', () => {
    const hosts = [HOSTS[0]!, { ...HOSTS[1]!, vars: { ...HOSTS[1]!.vars, priority: 200 } }];
    const result = resolvePlaybook(loadPlaybook(`${F}/templating.yaml`), hosts, select);
    expect([...result.keys()]).toEqual(['gw1', 'gw2']);
    expect(result.get('gw1')).toEqual([
      {
        name: 'rule for gw1 in play-region',
        module: 'ip_rule',
        // state and persist: the schemas' defaults, filled in by ajv.
        args: { table: 41, priority: 100, from: '10.200.200.0/24', state: 'present' },
        origin: `${F}/templating.yaml:11:7`,
      },
      {
        name: 'ports',
        module: 'sysctl',
        args: { key: 'net.ipv4.ip_local_reserved_ports', value: 'port 51821 / 51820 table 41', persist: true },
        origin: `${F}/templating.yaml:16:7`,
      },
      {
        name: 'gateway',
        module: 'wg_gateway',
        args: { customers: [{ name: 'acme', listen_port: 51820 }] },
        origin: `${F}/templating.yaml:20:7`,
      },
    ]);
    expect(result.get('gw2')![0]).toMatchObject({ name: 'rule for gw2 in play-region', args: { priority: 200 } });
    expect(result.get('gw2')![2]).toMatchObject({ args: { customers: [] } });
    // Values are fresh for every host: mutating one does not leak into another.
    (result.get('gw1')![2]!.args as { customers: unknown[] }).customers.push('x');
    expect(result.get('gw2')![2]!.args).toEqual({ customers: [] });
  });

  it('reports undefined variables and fields at the string, once for all hosts', () => {
    expect(problemsOf(validate('undefined-var'))).toEqual([
      'fixtures/playbooks/undefined-var.yaml:10:16: task "ensure rule", ip_rule.table: undefined variable "tabel" (did you mean "table"?)',
      'fixtures/playbooks/undefined-var.yaml:11:15: task "ensure rule", ip_rule.from: "lan" has no field "prefx" (did you mean "prefix"?)',
      'fixtures/playbooks/undefined-var.yaml:15:16: task "interpolate a mapping", sysctl.value: cannot interpolate a mapping into a string ("lan" is a mapping; use "{{ lan }}" alone to pass it as it is)',
    ]);
  });

  it('says which hosts a problem is on when not all of them', () => {
    expect(problemsOf(validate('per-host'))).toEqual([
      // The real ip_rule's schema refuses gw2's "abc" priority; db1 has none at all.
      'fixtures/playbooks/per-host.yaml:7:19: task "first customer", ip_rule.priority: must be integer (got "abc", from variable "priority" of host gw2)',
      'fixtures/playbooks/per-host.yaml:7:19: task "first customer", ip_rule.priority: undefined variable "priority" (on host db1)',
      'fixtures/playbooks/per-host.yaml:11:16: task "first customer\'s name", sysctl.value: "customers" has no item 0 (it has 0 items) (on host gw2)',
      'fixtures/playbooks/per-host.yaml:11:16: task "first customer\'s name", sysctl.value: undefined variable "customers" (on host db1)',
    ]);
  });

  it('detects variable cycles, reported once at the definition', () => {
    expect(problemsOf(validate('cycle'))).toEqual([
      'fixtures/playbooks/cycle.yaml:4:8: play "cycle", vars.a: variables refer to each other in a cycle: a -> b -> a',
      'fixtures/playbooks/cycle.yaml:6:11: play "cycle", vars.self: variable "self" refers to itself',
    ]);
  });

  it('names the play whose hosts pattern matches nothing or is unknown', () => {
    expect(problemsOf(validate('no-hosts'))).toEqual([
      'fixtures/playbooks/no-hosts.yaml:2:10: play "nobody": hosts pattern "web*" matches no hosts',
      'fixtures/playbooks/no-hosts.yaml:7:10: play "unknown group": unknown host or group "nosuchgroup"',
    ]);
  });

  it('provides inventory_hostname, group_names and groups; reserves them', () => {
    const playbook = parsePlaybook(
      [
        '- name: magic',
        '  hosts: all',
        '  tasks:',
        '    - sysctl: { key: "net.{{ inventory_hostname }}.x", value: "{{ group_names.0 }} {{ groups.gateways.1 }}" }',
      ].join('\n'),
      'inline.yaml',
    );
    const result = resolvePlaybook(playbook, HOSTS, select);
    expect(result.get('db1')).toEqual([
      { name: 'sysctl', module: 'sysctl', args: { key: 'net.db1.x', value: 'databases gw2', persist: true }, origin: 'inline.yaml:4:7' },
    ]);
    expect(problemsOf(() => parsePlaybook('- name: p\n  hosts: all\n  vars:\n    groups: []\n  tasks: []\n', 'x.yaml'))).toEqual([
      'x.yaml:4:5: play "p": "groups" is set by wgplay and cannot be redefined',
    ]);
  });

  it('reports problems inside variables at their definition, host vars by host', () => {
    const playbook = parsePlaybook(
      [
        '- name: p',
        '  hosts: gateways',
        '  vars:',
        '    wan: "{{ wan_ip }}/32"',
        '  tasks:',
        '    - ip_rule: { from: "{{ wan }}", table: 41 }',
        '    - sysctl: { key: net.ipv4.ip_forward, value: "{{ label }}" }',
      ].join('\n'),
      'inline.yaml',
    );
    const hosts: HostVars[] = [
      { name: 'gw1', vars: { wan_ip: '192.0.2.1', label: 'gw-{{ inventory_hostname }}' } },
      { name: 'gw2', vars: { label: '{{ nope }}' } },
    ];
    expect(problemsOf(() => resolvePlaybook(playbook, hosts, select))).toEqual([
      'inline.yaml:4:10: play "p", vars.wan: undefined variable "wan_ip" (on host gw2)',
      'host gw2: vars.label: undefined variable "nope"',
    ]);
    const ok = resolvePlaybook(playbook, [hosts[0]!], () => ['gw1']);
    expect(ok.get('gw1')!.map((task) => task.args)).toEqual([
      // Canonical: a full-length prefix is written the way ip prints it.
      { from: '192.0.2.1', table: 41, state: 'present' },
      { key: 'net.ipv4.ip_forward', value: 'gw-gw1', persist: true },
    ]);
  });

  it('parses templates', () => {
    expect(parseTemplate('a {{ x.y[0].z }} b {{y}}')).toEqual([
      'a ',
      { text: 'x.y.0.z', root: 'x', path: ['y', '0', 'z'] },
      ' b ',
      { text: 'y', root: 'y', path: [] },
    ]);
    expect(parseTemplate('{{ x() }}')).toHaveProperty('error');
  });
});

describe('--limit', () => {
  it('neither templates nor checks hosts outside the limit', async () => {
    const { parsePlaybook, resolvePlaybook } = await import('../../src/playbook/index.js');
    const { fileTask } = await import('../../src/tasks/file.js');
    const { registerTask } = await import('../../src/catalog.js');
    registerTask(fileTask);
    const playbook = parsePlaybook('- name: p\n  hosts: all\n  tasks:\n    - name: f\n      file: { path: "/etc/{{ name }}", content: x }\n', 'limit.yaml');
    const hosts = [
      { name: 'good', vars: { name: 'ok' } },
      { name: 'broken', vars: {} },
    ];
    const select = () => ['good', 'broken'];
    expect(() => resolvePlaybook(playbook, hosts, select)).toThrow(/name/);
    const limited = resolvePlaybook(playbook, hosts, select, { limit: new Set(['good']) });
    expect([...limited.keys()]).toEqual(['good']);
  });
});
