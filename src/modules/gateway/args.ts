// Arguments of the `wireguard_gateway` module: one server, many customers whose
// address spaces overlap (see the seed article and docs/GATEWAY.md).
import { Type, type Static } from '@sinclair/typebox';
import { Defaulted, Enum, type Validated } from '../../tasks/schema.js';

// 1022 customers with the address pools' defaults: each is the widest prefix that starts
// at the /24 the defaults once were (10.200.200.0/24, 10.100.100.0/24), so the lowest
// free address is still 10.200.200.1 and a gateway made with the /24s keeps its values.
const DEFAULT_POOLS = {
  listen_ports: '51820-55819',
  tables: '41-4040',
  our_addresses: '10.200.200.0/22',
  customer_addresses: '10.100.100.0/22',
};
const DEFAULT_STATE_FILE = '/var/lib/wgplay/gateway.json';

const NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';
const RANGE = '^[0-9]+-[0-9]+$';
const Port = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });

const CustomerSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME, maxLength: 64, description: 'The customer, as wgplay names it (interface names, records, messages).' }),
    public_key: Type.String({ net: 'wireguard-key', description: 'Their WireGuard public key.' }),
    address: Type.String({ net: 'host-ipv4', description: 'Their host\'s WireGuard address, in their address space ("10.0.0.1").' }),
    our_address: Type.String({ net: 'host-ipv4', description: 'The address they chose for us, in their address space ("10.0.0.2").' }),
    mode: Defaulted(
      Enum(['inbound', 'outbound', 'both'] as const, { description: 'inbound: they reach our services; outbound: we reach their host; both: the two.' }),
      'both',
    ),
    endpoint: Type.Optional(Type.String({ net: 'endpoint', description: 'Their endpoint host:port, when they have a static one (otherwise they connect to us).' })),
    persistent_keepalive: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Seconds between keepalives we send them.' })),
    interface: Type.Optional(Type.String({ net: 'interface-name', description: 'Our interface for them; allocated (interface_prefix + name) when omitted.' })),
    listen_port: Type.Optional(Port('Our UDP port for them; allocated from pools.listen_ports when omitted.')),
    table: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 4294967295, description: 'Our routing table for them; allocated from pools.tables when omitted.' }),
    ),
    our_translated_address: Type.Optional(
      Type.String({ net: 'host-ipv4', description: 'Our translated address for this customer, in pools.our_addresses ("10.200.200.1"); allocated when omitted.' }),
    ),
    translated_address: Type.Optional(
      Type.String({ net: 'host-ipv4', description: 'Their translated address, in pools.customer_addresses ("10.100.100.1"); allocated when omitted.' }),
    ),
  },
  { additionalProperties: false },
);

const ServiceSchema = Type.Object(
  {
    protocol: Enum(['tcp', 'udp'] as const, { description: 'Transport protocol.' }),
    port: Port('The port on the gateway.'),
  },
  { additionalProperties: false },
);

export const gatewaySchema = Type.Object(
  {
    public_interface: Type.String({ net: 'interface-name', description: 'The interface customers reach the gateway on.' }),
    public_address: Type.String({ net: 'host-ipv4', description: 'The address customers use as Endpoint.' }),
    ssh: Type.Object(
      {
        interfaces: Type.Union([Type.Literal('any'), Type.Array(Type.String({ net: 'interface-name' }), { minItems: 1 })], {
          description: 'Where SSH is accepted: interface names, or "any". Never empty: a gateway must not lock out its own SSH.',
        }),
        port: Defaulted(Port('The SSH port.'), 22),
      },
      { additionalProperties: false, description: 'How the firewall keeps SSH open.' },
    ),
    services: Defaulted(Type.Array(ServiceSchema, { description: 'What customers may reach on the gateway over their tunnels (inbound mode).' }), []),
    // {}: ajv fills in each pool's own default inside it.
    pools: Defaulted(
      Type.Object(
        {
          listen_ports: Defaulted(Type.String({ pattern: RANGE, description: 'UDP ports to allocate from.' }), DEFAULT_POOLS.listen_ports),
          tables: Defaulted(Type.String({ pattern: RANGE, description: 'Routing tables to allocate from.' }), DEFAULT_POOLS.tables),
          our_addresses: Defaulted(Type.String({ net: 'ipv4-prefix', description: 'Where our translated addresses come from.' }), DEFAULT_POOLS.our_addresses),
          customer_addresses: Defaulted(
            Type.String({ net: 'ipv4-prefix', description: "Where customers' translated addresses come from." }),
            DEFAULT_POOLS.customer_addresses,
          ),
        },
        { additionalProperties: false, description: 'Where values not given per customer are allocated from.' },
      ),
      {},
    ),
    interface_prefix: Defaulted(Type.String({ pattern: '^[A-Za-z0-9_.-]{0,12}$', description: "Interface names are this prefix + the customer's name." }), 'wg-'),
    rule_priority: Defaulted(Type.Integer({ minimum: 1, maximum: 32765, description: 'Priority of the policy rules (100 as the seed).' }), 100),
    reserve_listen_ports: Defaulted(Type.Boolean({ description: 'Reserve the listen-port pool in net.ipv4.ip_local_reserved_ports.' }), true),
    nft_table_prefix: Defaulted(
      Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,20}$', description: 'Prefix of the two nftables tables wgplay owns (wgplay: wgplay_filter, wgplay_nat).' }),
      'wgplay',
    ),
    state_file: Defaulted(
      Type.String({ pattern: '^/[A-Za-z0-9_./-]+$', description: "wgplay's record of the customers it manages on this host." }),
      DEFAULT_STATE_FILE,
    ),
    customer_keepalive: Defaulted(
      Type.Integer({ minimum: 0, maximum: 65535, description: 'The PersistentKeepalive handed to customers in their configuration.' }),
      25,
    ),
    customers: Type.Array(CustomerSchema, { description: 'The customers, each with its own tunnel, table and translated addresses.' }),
  },
  { additionalProperties: false },
);

/** The arguments as written (a library user's input). */
export type GatewayInput = Static<typeof gatewaySchema>;
/** The arguments validated, every default filled in (what the module's functions get). */
export type GatewayArgs = Validated<typeof gatewaySchema>;
export type GatewayCustomer = GatewayArgs['customers'][number];
