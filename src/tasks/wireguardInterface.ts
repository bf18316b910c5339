import { Type, type Static } from '@sinclair/typebox';
import type { HostFacts, LinkFact, WgInterfaceFact, WgPeerFact } from '../facts/types.js';
import { shellQuote } from '../shell.js';
import { familyOf, prefixKey, withLength } from '../net/index.js';
import { Defaulted, State, type Validated } from './schema.js';
import { commitStagedStep, planFileAbsent, planFileContent, sha256 } from './shared/files.js';
import { groupedBy, linkNamed } from './shared/factIndex.js';
import { ipStep, RoutingTable, tableName } from './shared/ip.js';
import { describeConnection, describeRouteFact, MAY_CUT_SSH, prefixCovers, takesControllerRoute } from './sshPath.js';
import { planUnitDisabled, planUnitEnabled, wantsLinkOf } from './systemd.js';
import { defineTask, type ArgumentProblem, type Change, type Step } from './types.js';

const PeerSchema = Type.Object(
  {
    public_key: Type.String({ net: 'wireguard-key', description: "The peer's WireGuard public key (44 characters of base64)." }),
    allowed_ips: Type.Array(Type.String({ net: 'allowed-ip' }), { description: 'Addresses and prefixes the peer may send from and is routed to.' }),
    endpoint: Type.Optional(Type.String({ net: 'endpoint', description: 'Where the peer is reached, host:port; omitted: it connects to us.' })),
    persistent_keepalive: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 65535, description: 'Seconds between keepalives (0 or omitted: none).' }),
    ),
  },
  { additionalProperties: false },
);

const Hooks = (when: string) =>
  Type.Optional(Type.Array(Type.String(), { description: `wg-quick ${when} commands, written to the file for the next boot only.` }));

export const WireguardInterfaceSchema = Type.Object(
  {
    name: Type.String({ net: 'interface-name', description: 'The interface name (at most 15 bytes, not starting with "-").' }),
    state: State('the interface, its key and its wg-quick file'),
    addresses: Type.Optional(
      Type.Array(Type.String({ net: 'interface-address' }), { description: 'Addresses with or without prefix length: "10.200.200.1" means /32.' }),
    ),
    listen_port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'UDP port; omitted: a random one.' })),
    private_key_file: Type.Optional(
      Type.String({ pattern: '^/[A-Za-z0-9_./-]+$', description: 'Where the private key lives on the host (default /etc/wireguard/NAME.key).' }),
    ),
    generate_key: Defaulted(
      Type.Boolean({ description: 'Generate the key on the host when the file is missing. The key never leaves the host.' }),
      true,
    ),
    persist: Defaulted(
      Type.Boolean({
        description:
          'Comes back at boot: the wg-quick file /etc/wireguard/NAME.conf and wg-quick@NAME.service enabled (multi-user.target). ' +
          'false: neither exists, the interface lives until the next reboot.',
      }),
      true,
    ),
    table: Type.Optional(
      Type.Union([RoutingTable('A routing table.'), Type.Literal('off')], {
        description: "Routing table for the peers' allowed IPs (wg-quick's Table); omitted or off: no routes.",
      }),
    ),
    mtu: Type.Optional(Type.Integer({ minimum: 1280, maximum: 9000, description: 'The link MTU; omitted: the default.' })),
    peers: Type.Optional(Type.Array(PeerSchema, { description: 'Exactly the peers the interface has; others are removed.' })),
    may_cut_ssh: Type.Optional(
      Type.Boolean({ description: "true: this interface's addresses or main-table routes may take wgplay's own SSH connection; refused otherwise (docs/SAFETY.md)." }),
    ),
    pre_up: Hooks('PreUp'),
    post_up: Hooks('PostUp'),
    pre_down: Hooks('PreDown'),
    post_down: Hooks('PostDown'),
  },
  { additionalProperties: false },
);

type WireguardPeerArgs = Static<typeof PeerSchema>;
export type WireguardInterfaceArgs = Static<typeof WireguardInterfaceSchema>;
type Args = Validated<typeof WireguardInterfaceSchema>;

export const keyFileOf = (args: Pick<WireguardInterfaceArgs, 'name' | 'private_key_file'>) =>
  args.private_key_file ?? `/etc/wireguard/${args.name}.key`;
const configFileOf = (name: string) => `/etc/wireguard/${name}.conf`;

/** Where wireguard-tools installs wg-quick's template unit; `systemctl enable` links to the first. */
const WG_QUICK_TEMPLATE_UNITS = ['/lib/systemd/system/wg-quick@.service', '/usr/lib/systemd/system/wg-quick@.service'];
const unitLinkOf = (name: string) => ({ unit: `wg-quick@${name}.service`, wantedBy: 'multi-user.target' });
const persisted = (args: Args) => args.state === 'present' && args.persist;

/** The wg-quick file and the enabled unit that bring the interface back at boot, or their absence. */
function planBootConfig(args: Args, facts: HostFacts): Change[] {
  const config = configFileOf(args.name);
  if (!persisted(args)) {
    return [...planUnitDisabled(unitLinkOf(args.name), facts), ...planFileAbsent(config, facts.files[config], 'persist')];
  }
  // Debian's place when the host has none (no systemd): the link is harmless there, and
  // right as soon as wireguard-tools' unit is installed.
  const template = WG_QUICK_TEMPLATE_UNITS.find((path) => facts.files[path]?.exists) ?? WG_QUICK_TEMPLATE_UNITS[0]!;
  return [
    ...planFileContent(
      { path: config, content: renderWgQuickConfig(args), mode: '0600', owner: 'root', group: 'root', secret: false },
      facts.files[config],
      'persist',
    ),
    ...planUnitEnabled({ ...unitLinkOf(args.name), unitFile: template }, facts, WG_QUICK_TEMPLATE_UNITS),
  ];
}

const addressesOf = (args: Pick<WireguardInterfaceArgs, 'addresses'>) => (args.addresses ?? []).map(withLength);
const sortedIps = (ips: string[]) => ips.map(withLength).sort().join(',');

/** The wg-quick file that brings the same interface back after a reboot (no secret inside). */
export function renderWgQuickConfig(args: Args): string {
  const lines = ['# Managed by wgplay: edits here are overwritten on the next apply.', '[Interface]'];
  for (const address of addressesOf(args)) lines.push(`Address = ${address}`);
  if (args.listen_port !== undefined) lines.push(`ListenPort = ${args.listen_port}`);
  lines.push(`Table = ${args.table ?? 'off'}`);
  if (args.mtu !== undefined) lines.push(`MTU = ${args.mtu}`);
  for (const hook of args.pre_up ?? []) lines.push(`PreUp = ${hook}`);
  // The private key stays in its own 0600 file; this file can be shown in diffs.
  lines.push(`PostUp = wg set %i private-key ${keyFileOf(args)}`);
  for (const hook of args.post_up ?? []) lines.push(`PostUp = ${hook}`);
  for (const hook of args.pre_down ?? []) lines.push(`PreDown = ${hook}`);
  for (const hook of args.post_down ?? []) lines.push(`PostDown = ${hook}`);
  for (const peer of args.peers ?? []) {
    lines.push('', '[Peer]', `PublicKey = ${peer.public_key}`, `AllowedIPs = ${peer.allowed_ips.map(withLength).join(', ')}`);
    if (peer.endpoint) lines.push(`Endpoint = ${peer.endpoint}`);
    if (peer.persistent_keepalive) lines.push(`PersistentKeepalive = ${peer.persistent_keepalive}`);
  }
  return `${lines.join('\n')}\n`;
}

function peerSettings(peer: WireguardPeerArgs): string {
  const parts = [`allowed-ips ${shellQuote(peer.allowed_ips.map(withLength).join(','))}`];
  if (peer.endpoint) parts.push(`endpoint ${shellQuote(peer.endpoint)}`);
  parts.push(`persistent-keepalive ${peer.persistent_keepalive ?? 0}`);
  return parts.join(' ');
}

function describePeer(peer: { public_key: string; allowed_ips: string[]; endpoint?: string; persistent_keepalive?: number }): string {
  return [
    `peer ${peer.public_key}`,
    `allowed-ips ${peer.allowed_ips.map(withLength).join(',') || '(none)'}`,
    peer.endpoint ? `endpoint ${peer.endpoint}` : '',
    peer.persistent_keepalive ? `keepalive ${peer.persistent_keepalive}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

const livePeerAsArgs = (peer: WgPeerFact): WireguardPeerArgs => ({
  public_key: peer.publicKey,
  allowed_ips: peer.allowedIps,
  endpoint: peer.endpoint,
  persistent_keepalive: peer.persistentKeepalive,
});

function peerDiffers(want: WireguardPeerArgs, have: WgPeerFact): boolean {
  if (sortedIps(want.allowed_ips) !== sortedIps(have.allowedIps)) return true;
  // A peer without a configured endpoint roams: whatever endpoint it was seen at is fine.
  if (want.endpoint && want.endpoint !== have.endpoint) return true;
  return (want.persistent_keepalive ?? 0) !== (have.persistentKeepalive ?? 0);
}

function planPeers(args: Args, live: WgInterfaceFact | undefined): Change[] {
  const name = shellQuote(args.name);
  const changes: Change[] = [];
  // A new interface gets its peers in the step that creates it.
  const step = (script: string): Step[] => (live ? [{ kind: 'shell', phase: 'wireguard', stage: 'peers', script }] : []);
  for (const peer of args.peers ?? []) {
    const have = live?.peers.find((candidate) => candidate.publicKey === peer.public_key);
    if (have && !peerDiffers(peer, have)) continue;
    changes.push({
      resource: `wireguard ${args.name} peer ${peer.public_key}`,
      action: have ? 'update' : 'create',
      diff: (have ? `- ${describePeer(livePeerAsArgs(have))}\n` : '') + `+ ${describePeer(peer)}`,
      steps: step(`wg set ${name} peer ${shellQuote(peer.public_key)} ${peerSettings(peer)}`),
    });
  }
  for (const have of live?.peers ?? []) {
    if ((args.peers ?? []).some((peer) => peer.public_key === have.publicKey)) continue;
    changes.push({
      resource: `wireguard ${args.name} peer ${have.publicKey}`,
      action: 'delete',
      diff: `- ${describePeer(livePeerAsArgs(have))}`,
      steps: step(`wg set ${name} peer ${shellQuote(have.publicKey)} remove`),
    });
  }
  return changes;
}

/** Routes for the peers' allowed IPs in the interface's table, as wg-quick's Table= makes them. */
function planTableRoutes(args: Args, facts: HostFacts): Change[] {
  if (args.table === undefined || args.table === 'off') return [];
  const table = String(args.table);
  const wanted = new Set((args.peers ?? []).flatMap((peer) => peer.allowed_ips.map(prefixKey)));
  const have = groupedBy(facts.routes, 'device and table', (route) => `${route.dev ?? ''} ${route.table}`).get(`${args.name} ${table}`) ?? [];
  const changes: Change[] = [];
  for (const destination of wanted) {
    if (have.some((route) => prefixKey(route.dst) === destination)) continue;
    changes.push({
      resource: `ip route ${destination} dev ${args.name} table ${table}`,
      action: 'create',
      diff: `+ ip route ${destination} dev ${args.name} table ${table}`,
      steps: [ipStep(familyOf(destination), `route replace ${destination} dev ${args.name} table ${table}`)],
    });
  }
  for (const route of have) {
    if (wanted.has(prefixKey(route.dst))) continue;
    changes.push({
      resource: `ip route ${route.dst} dev ${args.name} table ${table}`,
      action: 'delete',
      diff: `- ip route ${route.dst} dev ${args.name} table ${table}`,
      steps: [ipStep(route.family, `route del ${route.dst} dev ${args.name} table ${table}`)],
    });
  }
  return changes;
}

/** What wgplay names the TUNs it creates for wireguard-go (their alias), to know them again without their daemon. */
const TUN_ALIAS = 'wgplay';
/** The MTU wireguard-go and the kernel give a new WireGuard interface. */
const WIREGUARD_MTU = 1420;

/** A TUN wgplay created for this interface whose wireguard-go daemon is gone (it died, or an apply stopped before starting it). */
export const isOurIdleTun = (link: LinkFact | undefined, live: WgInterfaceFact | undefined) =>
  !live && link?.kind === 'tun' && link.alias === TUN_ALIAS;

/**
 * The `wg set` that gives an interface starting up its port, key and peers at once
 * (wireguard-go binds a random port first), run by wgplay_wg_up (src/engine/compile.ts):
 * on a TUN, after its daemon started.
 */
function startStep(args: Args, how: 'new' | 'tun'): Step {
  const port = args.listen_port !== undefined ? ` listen-port ${args.listen_port}` : '';
  const peers = (args.peers ?? []).map((peer) => ` peer ${shellQuote(peer.public_key)} ${peerSettings(peer)}`).join('');
  // wireguard-go sets 1420 as it starts; another MTU is set again after it.
  const mtu = args.mtu !== undefined && args.mtu !== WIREGUARD_MTU ? String(args.mtu) : '-';
  return {
    kind: 'shell',
    phase: 'wireguard',
    stage: 'interfaces',
    script: `wgplay_wg_up ${how} ${shellQuote(args.name)} ${mtu}${port} private-key ${shellQuote(keyFileOf(args))}${peers}`,
  };
}
const startedStep: Step = { kind: 'shell', phase: 'wireguard', stage: 'started', once: 'wgplay_wg_started', script: 'wgplay_wg_started' };

function planLink(args: Args, facts: HostFacts): Change[] {
  const name = shellQuote(args.name);
  const keyFile = shellQuote(keyFileOf(args));
  const live = facts.wg[args.name];
  const link = linkNamed(facts, args.name);
  const idleTun = isOurIdleTun(link, live);
  if (link && !live && !idleTun) {
    throw new Error(`a network interface named ${args.name} exists but is not a WireGuard interface; wgplay will not replace it`);
  }
  const keyFact = facts.files[keyFileOf(args)];
  const changes: Change[] = [];
  const linkStep = (script: string, stage: 'ports and keys'): Step => ({ kind: 'shell', phase: 'wireguard', stage, script });
  const mtu = args.mtu !== undefined ? ` mtu ${args.mtu}` : '';

  if (!link) {
    const port = args.listen_port !== undefined ? ` listen-port ${args.listen_port}` : '';
    // Created with every other new interface in one `ip -batch` (a TUN when the kernel
    // has no WireGuard), then brought up with its addresses, rules and routes while no
    // new daemon runs; its daemon starts in the wireguard phase.
    changes.push({
      resource: `wireguard interface ${args.name}`,
      action: 'create',
      diff: `+ wireguard interface ${args.name}${port}`,
      steps: [
        { kind: 'shell', phase: 'links', stage: 'interfaces', script: `wgplay_new_links+=(${name})` },
        { kind: 'shell', phase: 'links', stage: 'created', once: 'wgplay_create_links', script: 'wgplay_create_links' },
        startStep(args, 'new'),
        startedStep,
      ],
    });
  } else if (idleTun) {
    changes.push({
      resource: `wireguard interface ${args.name}`,
      action: 'update',
      diff: `~ wireguard interface ${args.name}: its TUN is there without a wireguard-go daemon (no UAPI socket): start it`,
      steps: [startStep(args, 'tun'), startedStep],
    });
  } else if (live) {
    if (args.listen_port !== undefined && live.listenPort !== args.listen_port) {
      changes.push({
        resource: `wireguard interface ${args.name} listen-port`,
        action: 'update',
        diff: `- ${args.name} listen-port ${live.listenPort}\n+ ${args.name} listen-port ${args.listen_port}`,
        steps: [linkStep(`wg set ${name} listen-port ${args.listen_port}`, 'ports and keys')],
      });
    }
    if (!keyFact?.exists || keyFact.wgKeyMatchesInterface === false) {
      changes.push({
        resource: `wireguard interface ${args.name} private key`,
        action: 'update',
        diff: `~ ${args.name} private key: set from ${keyFileOf(args)} (live public key ${live.publicKey ?? '(none)'} will change)`,
        steps: [linkStep(`wg set ${name} private-key ${keyFile}`, 'ports and keys')],
      });
    }
  }

  // Addresses and link state, converged without taking the interface down; a new one's
  // in the same `ip -batch` as every other's (before any new daemon runs).
  const linkIpStep = (line: string): Step[] => [{ kind: 'ip', phase: 'links', line }];
  const wantAddresses = addressesOf(args);
  const haveAddresses = facts.addresses
    .filter((address) => address.dev === args.name)
    .map((address) => `${address.local}/${address.prefixlen}`);
  for (const address of wantAddresses) {
    if (haveAddresses.includes(address)) continue;
    changes.push({
      resource: `address ${address} on ${args.name}`,
      action: 'create',
      diff: `+ address ${address} dev ${args.name}`,
      steps: linkIpStep(`address add ${address} dev ${args.name}`),
    });
  }
  for (const address of haveAddresses) {
    if (wantAddresses.includes(address) || address.startsWith('fe80:')) continue;
    changes.push({
      resource: `address ${address} on ${args.name}`,
      action: 'delete',
      diff: `- address ${address} dev ${args.name}`,
      steps: linkIpStep(`address del ${address} dev ${args.name}`),
    });
  }
  const mtuDiffers = args.mtu !== undefined && link?.mtu !== args.mtu;
  if (!link) {
    // The MTU wireguard-go will set anyway, so that its start is one link event less;
    // the alias marks the TUN as wgplay's (isOurIdleTun).
    changes.push({
      resource: `link ${args.name}`,
      action: 'create',
      diff: `+ link ${args.name} up${mtu}`,
      steps: linkIpStep(`link set dev ${args.name} mtu ${args.mtu ?? WIREGUARD_MTU} alias ${TUN_ALIAS} up`),
    });
  } else if (!link.up || mtuDiffers) {
    changes.push({
      resource: `link ${args.name}`,
      action: 'update',
      diff: `+ link ${args.name} up${mtu}`,
      steps: linkIpStep(`link set dev ${args.name}${mtu} up`),
    });
  }
  return changes;
}

export const wireguardInterfaceTask = defineTask({
  name: 'wireguard_interface',
  summary: 'A live WireGuard interface (kernel or wireguard-go) with its key, port, addresses and peers, plus its wg-quick file.',
  schema: WireguardInterfaceSchema,
  check(args) {
    const problems: ArgumentProblem[] = [];
    const seenKeys = new Set<string>();
    (args.peers ?? []).forEach((peer, index) => {
      if (seenKeys.has(peer.public_key)) {
        problems.push({ path: `/peers/${index}/public_key`, message: 'the same peer is listed twice' });
      }
      seenKeys.add(peer.public_key);
    });
    for (const field of ['pre_up', 'post_up', 'pre_down', 'post_down'] as const) {
      (args[field] ?? []).forEach((hook, index) => {
        if (/[\n\r]/.test(hook)) problems.push({ path: `/${field}/${index}`, message: 'a hook must be one line' });
      });
    }
    return problems;
  },
  // Its key and wg-quick files too: a `file` task on either would overwrite (or show) them.
  claims: (args) => [
    `WireGuard interface ${args.name}`,
    ...(args.listen_port !== undefined ? [`UDP listen port ${args.listen_port}`] : []),
    `file ${keyFileOf(args)}`,
    `file ${configFileOf(args.name)}`,
  ],
  programs: (args) => (args.state === 'present' ? (args.persist ? ['wg', 'ip', 'wg-quick'] : ['wg', 'ip']) : ['ip']),
  // Its addresses bring a connected route (and a local one) with them; with table main,
  // its peers' allowed IPs become routes there: either may take the controller's address.
  cutsSsh(args, connection, facts) {
    if (args[MAY_CUT_SSH] || (args.state ?? 'present') === 'absent') return undefined;
    const controller = connection.clientAddress;
    const optIn = `; if that is intended, set ${MAY_CUT_SSH}: true on the task`;
    for (const address of addressesOf(args)) {
      if (!prefixCovers(address, controller)) continue;
      const taken = takesControllerRoute(address, { dev: args.name }, controller, facts.routes);
      if (taken || address.split('/')[0] === controller) {
        return `the address ${address} on ${args.name} covers the controller's address ${controller}: ${describeConnection(connection)} would go into ${args.name}${optIn}`;
      }
    }
    if (args.table === undefined || tableName(args.table) !== 'main') return undefined;
    for (const allowed of (args.peers ?? []).flatMap((peer) => peer.allowed_ips)) {
      const taken = takesControllerRoute(allowed, { dev: args.name }, controller, facts.routes);
      if (taken) {
        return (
          `the peer route to ${allowed} in table main covers the controller's address ${controller}: ${describeConnection(connection)} ` +
          `would go into ${args.name} instead of by ${describeRouteFact(taken.now)}${optIn}`
        );
      }
    }
    return undefined;
  },
  facts(args) {
    const config = persisted(args) ? sha256(renderWgQuickConfig(args)) : undefined;
    return {
      files: [
        { path: keyFileOf(args), wgInterface: args.name },
        { path: configFileOf(args.name), expectSha256: config, statOnly: !persisted(args) },
        { path: wantsLinkOf(unitLinkOf(args.name)), statOnly: true },
        ...(persisted(args) ? WG_QUICK_TEMPLATE_UNITS.map((path) => ({ path, statOnly: true })) : []),
      ],
    };
  },
  plan(args, facts) {
    const keyFile = keyFileOf(args);
    if (args.state === 'absent') {
      const changes: Change[] = [];
      const link = linkNamed(facts, args.name);
      if (facts.wg[args.name] || isOurIdleTun(link, undefined)) {
        changes.push({
          resource: `wireguard interface ${args.name}`,
          action: 'delete',
          diff: `- wireguard interface ${args.name}`,
          // Deleting the device also ends a wireguard-go process serving it; paced, so
          // that many deletions leave the other daemons time to read their events.
          steps: [{ kind: 'shell', phase: 'teardown', script: `wgplay_link_del ${shellQuote(args.name)}` }],
        });
      }
      changes.push(...planBootConfig(args, facts));
      changes.push(...planFileAbsent(keyFile, facts.files[keyFile]));
      return changes;
    }

    const changes: Change[] = [];
    const keyFact = facts.files[keyFile];
    if (!keyFact?.exists) {
      if (!args.generate_key) {
        throw new Error(`private key file ${keyFile} does not exist and generate_key is false`);
      }
      changes.push({
        resource: `wireguard private key ${keyFile}`,
        action: 'create',
        diff: `+ ${keyFile} (private key generated on the host, mode 0600; never leaves it)`,
        // Generated with every other new key at once (wgplay_genkeys, src/engine/compile.ts),
        // staged (a new folder 0700: the script's umask) and renamed with the phase's other files.
        steps: [
          { kind: 'shell', phase: 'prepare', script: `wgplay_stage ${shellQuote(keyFile)}\nwgplay_new_keys+=("$wgplay_staged")` },
          { kind: 'shell', phase: 'prepare', stage: 'keys', once: 'wgplay_genkeys', script: 'wgplay_genkeys' },
          commitStagedStep('prepare'),
        ],
      });
    } else if (keyFact.mode !== '0600' && keyFact.mode !== '0400') {
      changes.push({
        resource: `wireguard private key ${keyFile}`,
        action: 'update',
        diff: `~ ${keyFile}: mode ${keyFact.mode} -> 0600`,
        steps: [{ kind: 'shell', phase: 'prepare', script: `chmod 0600 ${shellQuote(keyFile)}` }],
      });
    }
    changes.push(...planLink(args, facts));
    changes.push(...planPeers(args, facts.wg[args.name]));
    changes.push(...planTableRoutes(args, facts));
    changes.push(...planBootConfig(args, facts));
    return changes;
  },
});
