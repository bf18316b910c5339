import { describe, expect, it } from 'vitest';
import { blankFacts } from '../../src/facts/blankFacts.js';
import { buildFactScript } from '../../src/facts/factScript.js';
import { validateArgs } from '../../src/playbook/validate.js';
import { parseFacts } from '../../src/facts/parseFacts.js';
import { parseSshConnection } from '../../src/facts/parseSshConnection.js';
import { ipRouteTask } from '../../src/tasks/ipRoute.js';
import { currentRoute, describeRouteFact, takesControllerRoute } from '../../src/tasks/sshPath.js';
import type { RouteFact } from '../../src/facts/types.js';
import { ipRuleTask } from '../../src/tasks/ipRule.js';
import { wireguardInterfaceTask } from '../../src/tasks/wireguardInterface.js';
import { execFileSync } from 'node:child_process';
import { runHost } from '../../src/engine/run.js';
import type { TaskInvocation } from '../../src/tasks/types.js';
import { FakeHost, facts as capturedFacts, SSH_CONNECTION } from './fakeHost.js';

const connection = { clientAddress: '172.31.250.1', clientPort: 40022, serverAddress: '172.31.250.2', serverPort: 22, interface: 'mgmt0' };
const facts = blankFacts({
  routes: [
    { family: 'inet', dst: 'default', gateway: '203.0.113.1', dev: 'eth0', table: 'main' },
    { family: 'inet', dst: '172.31.250.0/30', dev: 'mgmt0', table: 'main', protocol: 'kernel', scope: 'link' },
  ],
});

describe("wgplay's SSH connection as the host reports it", () => {
  it('reads SSH_CONNECTION and the way back, canonical', () => {
    expect(parseSshConnection(['::ffff:172.31.250.1 40022 ::ffff:172.31.250.2 22', '[{"dst":"172.31.250.1","dev":"mgmt0"}]'])).toEqual(connection);
    expect(parseSshConnection(['fe80::0001%mgmt0 5 fe80::2%mgmt0 22'])).toEqual({ clientAddress: 'fe80::1', clientPort: 5, serverAddress: 'fe80::2', serverPort: 22 });
    expect(parseSshConnection([])).toBeUndefined();
    expect(parseSshConnection([''])).toBeUndefined();
  });

  it.each([
    ['a client that is not an address', 'x 40022 192.0.2.2 22'],
    ['a server that is not an address', '192.0.2.1 40022 x 22'],
    ['a client port that is not a number', '192.0.2.1 4x 192.0.2.2 22'],
    ['a server port that is not a number', '192.0.2.1 40022 192.0.2.2 2x'],
    ['a port with more than digits', '192.0.2.1 x40022 192.0.2.2 22x'],
    ['fields missing', '192.0.2.1 40022'],
  ])('is no connection for %s', (_, line) => {
    expect(parseSshConnection([line, '[{"dev":"eth0"}]'])).toBeUndefined();
  });

  it('reads fields split by any spaces, and leaves the interface unknown when the way back is not readable', () => {
    const bare = { clientAddress: '192.0.2.1', clientPort: 40022, serverAddress: '192.0.2.2', serverPort: 22 };
    expect(parseSshConnection(['  192.0.2.1 \t 40022  192.0.2.2   22 ', '[{"dev":"eth0"}]'])).toEqual({ ...bare, interface: 'eth0' });
    for (const route of ['RTNETLINK answers: Network is unreachable', '[]', '[{"dev":7}]', '[{}]']) {
      expect(parseSshConnection(['192.0.2.1 40022 192.0.2.2 22', route]), route).toEqual(bare);
    }
  });

  it('the fact script reports it from the environment, and nothing without one', () => {
    const run = (env: Record<string, string>) => parseFacts(execFileSync('bash', ['-s'], { input: buildFactScript(), env: { PATH: process.env.PATH!, ...env } }).toString());
    const reported = run({ SSH_CONNECTION: '127.0.0.1 40022 127.0.0.1 22' });
    expect(reported.sshConnection).toEqual({ clientAddress: '127.0.0.1', clientPort: 40022, serverAddress: '127.0.0.1', serverPort: 22, interface: 'lo' });
    expect(run({}).sshConnection).toBeUndefined();
  });
});

describe('routes and rules that would take the SSH connection', () => {
  // Arguments with the schema's defaults filled in, as the engine hands them on.
  const cut = (task: typeof ipRouteTask | typeof ipRuleTask | typeof wireguardInterfaceTask, args: any) => {
    validateArgs(task.name, task.schema, undefined, args);
    return task.cutsSsh!(args, connection, facts);
  };

  it('refuses a route in main that takes over the route to the controller, or removes it', () => {
    expect(cut(ipRouteTask, { to: '172.31.250.1', dev: 'wg-a' })).toMatch(
      /the route to 172\.31\.250\.1 covers the controller's address 172\.31\.250\.1: wgplay's SSH connection \(from the controller 172\.31\.250\.1 to 172\.31\.250\.2 port 22\) would leave by it instead of by ip route 172\.31\.250\.0\/30 dev mgmt0 table main; if that is intended, set may_cut_ssh: true on the task/,
    );
    expect(cut(ipRouteTask, { to: '172.31.250.0/30', dev: 'eth0' })).toBeDefined();
    expect(cut(ipRouteTask, { to: '172.31.250.0/30', state: 'absent' })).toMatch(/removing the route to 172\.31\.250\.0\/30 would cut wgplay's SSH connection .*, which leaves by it/);
    // Table 254 is main, as ip reads it.
    expect(cut(ipRouteTask, { to: '172.31.250.1', dev: 'wg-a', table: 254 })).toBeDefined();
  });

  it('lets through what does not carry it: less specific, other destinations, other tables, the same route, an opt-in', () => {
    expect(cut(ipRouteTask, { to: 'default', via: '203.0.113.254' })).toBeUndefined();
    expect(cut(ipRouteTask, { to: '172.31.0.0/16', dev: 'eth0' })).toBeUndefined();
    expect(cut(ipRouteTask, { to: '10.100.100.1', dev: 'wg-a' })).toBeUndefined();
    expect(cut(ipRouteTask, { to: '172.31.250.1', dev: 'wg-a', table: 41 })).toBeUndefined();
    expect(cut(ipRouteTask, { to: '172.31.250.0/30', dev: 'mgmt0' })).toBeUndefined();
    expect(cut(ipRouteTask, { to: '172.31.250.1', dev: 'wg-a', may_cut_ssh: true })).toBeUndefined();
    expect(cut(ipRouteTask, { to: '10.0.0.0/8', state: 'absent' })).toBeUndefined();
    // The default route covers the controller too, but its replies leave by the more specific one.
    expect(cut(ipRouteTask, { to: 'default', state: 'absent' })).toBeUndefined();
  });

  it('refuses a rule that sends the replies to the controller to another table', () => {
    expect(cut(ipRuleTask, { table: 41, priority: 100 })).toMatch(/the rule from all table 41 priority 100 matches wgplay's SSH connection .* to table 41 instead of main/);
    expect(cut(ipRuleTask, { to: '172.31.250.0/24', table: 41 })).toBeDefined();
    expect(cut(ipRuleTask, { from: '172.31.250.2', table: 41 })).toBeDefined();
    expect(cut(ipRuleTask, { from: '10.200.200.1', table: 41 })).toBeUndefined();
    expect(cut(ipRuleTask, { to: '10.0.0.0/8', table: 41 })).toBeUndefined();
    expect(cut(ipRuleTask, { table: 'main', priority: 100 })).toBeUndefined();
    expect(cut(ipRuleTask, { table: 'local', priority: 100 })).toBeUndefined();
    expect(cut(ipRuleTask, { table: 41, may_cut_ssh: true })).toBeUndefined();
    // Removing a rule never takes the connection's replies away.
    expect(cut(ipRuleTask, { table: 41, priority: 100, state: 'absent' })).toBeUndefined();
  });

  it("refuses a WireGuard interface whose addresses or main-table peer routes take the controller's address", () => {
    const peer = (allowed_ips: string[]) => [{ public_key: 'x', allowed_ips }];
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', addresses: ['172.31.250.1/32'] })).toMatch(/the address 172\.31\.250\.1\/32 on wg-x covers the controller's address 172\.31\.250\.1/);
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', addresses: ['172.31.250.5/24'] })).toBeUndefined(); // a /24 loses to mgmt0's /30
    // The controller's own address on the interface takes it whatever the prefix (a local route)...
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', addresses: ['172.31.250.1/24'] })).toMatch(/the address 172\.31\.250\.1\/24 on wg-x covers the controller's address 172\.31\.250\.1: wgplay's SSH connection .* would go into wg-x; if that is intended, set may_cut_ssh: true on the task$/);
    // ...and another address whose prefix is more specific than the current route takes the route.
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', addresses: ['172.31.250.0/31'] })).toMatch(/the address 172\.31\.250\.0\/31 on wg-x covers the controller's address/);
    // As specific as mgmt0's route but on wg-x: the kernel may pick either.
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', addresses: ['172.31.250.2/30'] })).toMatch(/the address 172\.31\.250\.2\/30 on wg-x covers/);
    // Without a table the peers' allowed IPs make no routes: nothing to take.
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', peers: peer(['172.31.250.0/30']) })).toBeUndefined();
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', table: 'main', peers: peer(['0.0.0.0/0']) })).toBeUndefined(); // less specific than mgmt0's /30
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', table: 'main', peers: peer(['172.31.250.0/30']) })).toMatch(/the peer route to 172\.31\.250\.0\/30 in table main covers the controller's address/);
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', table: 41, peers: peer(['172.31.250.0/30']) })).toBeUndefined();
    expect(cut(wireguardInterfaceTask, { name: 'wg-x', table: 'main', peers: peer(['172.31.250.1/32']), may_cut_ssh: true })).toBeUndefined();
  });
});

describe('a host run that would cut its own SSH connection', () => {
  const takeover: TaskInvocation[] = [
    { name: 'steal', module: 'ip_route', args: { to: '192.0.2.50', dev: 'wg-a' }, origin: 'play.yaml:4:5' },
    { name: 'fine', module: 'ip_route', args: { to: '10.100.100.1', dev: 'wg-a' } },
    { name: 'steal too', module: 'ip_rule', args: { table: 41, priority: 100 } },
  ];

  it('is refused before anything changes, naming every task that would, with its place', async () => {
    const host = new FakeHost(capturedFacts({ capture: 'empty', output: SSH_CONNECTION }));
    const result = await runHost('gw', host, takeover, { apply: true, overSsh: true });
    expect(result.status).toBe('failed');
    expect(result.applied).toBe(false);
    const lines = result.error!.split('\n');
    expect(lines[0]).toBe('refused, nothing changed:');
    expect(lines[1]).toMatch(/^task "steal" \(play\.yaml:4:5\): the route to 192\.0\.2\.50 covers the controller's address 192\.0\.2\.50/);
    expect(lines[2]).toMatch(/^task "steal too": the rule from all table 41 priority 100 matches wgplay's SSH connection/);
    expect(lines).toHaveLength(3);
    expect(host.count('apply')).toBe(0);
  });

  it('is not checked for a local connection, which has no SSH path', async () => {
    const host = new FakeHost(capturedFacts({ capture: 'empty', output: SSH_CONNECTION }));
    const result = await runHost('gw', host, takeover, { apply: false, overSsh: false });
    expect(result.status).toBe('changed');
  });
});

describe('the route to the controller', () => {
  const route = (dst: string, more: Partial<RouteFact> = {}): RouteFact => ({ family: 'inet', dst, table: 'main', ...more });
  const routes = [
    route('default', { gateway: '203.0.113.1', dev: 'eth0' }),
    route('172.31.0.0/16', { dev: 'mgmt1' }),
    route('172.31.250.0/30', { dev: 'mgmt0' }),
    route('172.31.250.0/30', { dev: 'later' }),
    route('172.31.250.1', { dev: 'wg-x', table: '41' }),
    route('10.0.0.0/8', { dev: 'eth1' }),
  ];

  it("is the kernel's choice: the longest prefix of that table that covers the address, the first of equals", () => {
    expect(currentRoute(routes, 'main', '172.31.250.1')?.dev).toBe('mgmt0');
    expect(currentRoute(routes, '41', '172.31.250.1')?.dev).toBe('wg-x');
    expect(currentRoute(routes, 'main', '172.31.9.9')?.dev).toBe('mgmt1');
    expect(currentRoute(routes, 'main', '192.0.2.1')?.dev).toBe('eth0');
    expect(currentRoute(routes, '42', '172.31.250.1')).toBeUndefined();
  });

  it('is taken by a route as specific or more through another device or gateway; not by a less specific one or the same route', () => {
    const controller = '172.31.250.1';
    expect(takesControllerRoute('10.0.0.0/8', { dev: 'wg-a' }, controller, routes)).toBeUndefined();
    expect(takesControllerRoute('172.31.0.0/16', { dev: 'wg-a' }, controller, routes)).toBeUndefined();
    expect(takesControllerRoute('172.31.250.0/30', { dev: 'mgmt0' }, controller, routes)).toBeUndefined();
    expect(takesControllerRoute('172.31.250.0/30', {}, controller, routes)).toBeUndefined();
    expect(takesControllerRoute('172.31.250.0/30', { dev: 'wg-a' }, controller, routes)).toEqual({ now: routes[2] });
    expect(takesControllerRoute('172.31.250.0/30', { dev: 'mgmt0', via: '172.31.250.2' }, controller, routes)).toEqual({ now: routes[2] });
    expect(takesControllerRoute('172.31.250.1', { dev: 'mgmt0' }, controller, routes)).toEqual({ now: routes[2] });
    expect(takesControllerRoute('0.0.0.0/0', { via: '203.0.113.1', dev: 'eth0' }, '192.0.2.9', routes)).toBeUndefined();
    expect(takesControllerRoute('0.0.0.0/0', { via: '203.0.113.9', dev: 'eth0' }, '192.0.2.9', routes)).toEqual({ now: routes[0] });
    expect(takesControllerRoute('192.0.2.0/24', { dev: 'wg-a' }, '192.0.2.9', [])).toEqual({ now: undefined });
  });

  it('is described as ip prints it', () => {
    expect(describeRouteFact(routes[0])).toBe('ip route default via 203.0.113.1 dev eth0');
    expect(describeRouteFact(route('10.0.0.1'))).toBe('ip route 10.0.0.1');
    expect(describeRouteFact(undefined)).toBe('no route');
  });
});
