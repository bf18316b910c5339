// Arguments of the `wireguard_gateway` module: one server, many customers whose
// address spaces overlap (see the seed article and docs/GATEWAY.md).

export type CustomerMode = 'inbound' | 'outbound' | 'both';

export interface GatewayCustomer {
  name: string;
  /** Their WireGuard public key. */
  public_key: string;
  /** Their host's WireGuard address, in their address space ("10.0.0.1"). */
  address: string;
  /** The address they chose for us, in their address space ("10.0.0.2"). */
  our_address: string;
  mode?: CustomerMode;
  /** Their endpoint, when they have a static one (otherwise they connect to us). */
  endpoint?: string;
  persistent_keepalive?: number;
  // Values we choose; allocated from the pools when omitted.
  interface?: string;
  listen_port?: number;
  table?: number;
  /** Our translated address for this customer, in pools.our_addresses ("10.200.200.1"). */
  our_translated_address?: string;
  /** Their translated address, in pools.customer_addresses ("10.100.100.1"). */
  translated_address?: string;
}

export interface GatewayService {
  protocol: 'tcp' | 'udp';
  port: number;
}

export interface GatewayArgs {
  public_interface: string;
  /** The address customers use as Endpoint. */
  public_address: string;
  /** Where SSH is accepted: interface names, or "any". Never empty: a gateway must not lock out its own SSH. */
  ssh: { interfaces: string[] | 'any'; port?: number };
  /** What customers may reach on the gateway over their tunnels (inbound mode). */
  services?: GatewayService[];
  pools?: {
    /** "51820-51899" */
    listen_ports?: string;
    /** "41-240" */
    tables?: string;
    our_addresses?: string;
    customer_addresses?: string;
  };
  /** Interface names are this prefix + the customer's name (default "wg-"). */
  interface_prefix?: string;
  /** Priority of the policy rules (the seed: 100). */
  rule_priority?: number;
  /** Reserve the listen-port pool in net.ipv4.ip_local_reserved_ports (default true). */
  reserve_listen_ports?: boolean;
  /** Prefix of the two nftables tables wgplay owns (default "wgplay": wgplay_filter, wgplay_nat). */
  nft_table_prefix?: string;
  /** wgplay's record of the customers it manages on this host. */
  state_file?: string;
  /** The PersistentKeepalive handed to customers in their configuration (default 25). */
  customer_keepalive?: number;
  customers: GatewayCustomer[];
}

export const DEFAULT_POOLS = {
  listen_ports: '51820-51899',
  tables: '41-240',
  our_addresses: '10.200.200.0/24',
  customer_addresses: '10.100.100.0/24',
};

const NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';
const RANGE = '^[0-9]+-[0-9]+$';

export const gatewaySchema = {
  type: 'object',
  required: ['public_interface', 'public_address', 'ssh', 'customers'],
  additionalProperties: false,
  properties: {
    public_interface: { type: 'string' },
    public_address: { type: 'string' },
    ssh: {
      type: 'object',
      required: ['interfaces'],
      additionalProperties: false,
      properties: {
        interfaces: { anyOf: [{ const: 'any' }, { type: 'array', minItems: 1, items: { type: 'string' } }] },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
      },
    },
    services: {
      type: 'array',
      items: {
        type: 'object',
        required: ['protocol', 'port'],
        additionalProperties: false,
        properties: { protocol: { enum: ['tcp', 'udp'] }, port: { type: 'integer', minimum: 1, maximum: 65535 } },
      },
    },
    pools: {
      type: 'object',
      additionalProperties: false,
      properties: {
        listen_ports: { type: 'string', pattern: RANGE },
        tables: { type: 'string', pattern: RANGE },
        our_addresses: { type: 'string' },
        customer_addresses: { type: 'string' },
      },
    },
    interface_prefix: { type: 'string', pattern: '^[A-Za-z0-9_.-]{0,12}$' },
    rule_priority: { type: 'integer', minimum: 1, maximum: 32765 },
    reserve_listen_ports: { type: 'boolean' },
    nft_table_prefix: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]{0,20}$' },
    state_file: { type: 'string', pattern: '^/[A-Za-z0-9_./-]+$' },
    customer_keepalive: { type: 'integer', minimum: 0, maximum: 65535 },
    customers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'public_key', 'address', 'our_address'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: NAME, maxLength: 64 },
          public_key: { type: 'string' },
          address: { type: 'string' },
          our_address: { type: 'string' },
          mode: { enum: ['inbound', 'outbound', 'both'] },
          endpoint: { type: 'string' },
          persistent_keepalive: { type: 'integer', minimum: 0, maximum: 65535 },
          interface: { type: 'string' },
          listen_port: { type: 'integer', minimum: 1, maximum: 65535 },
          table: { type: 'integer', minimum: 1, maximum: 4294967295 },
          our_translated_address: { type: 'string' },
          translated_address: { type: 'string' },
        },
      },
    },
  },
};
