// Typed task constructors for deploy tools: `tasks.ipRule({ from, table, priority })`.
// Their argument types are inferred from the very TypeBox schemas ajv validates
// playbooks with; what they return is a playbook task (`{ name, ip_rule: {...} }`)
// that goes into `playbookFromObject`, so it is validated exactly as a YAML task is,
// with problems placed by JSON pointer.
import type { Static } from '@sinclair/typebox';
import { gatewaySchema } from '../modules/gateway/args.js';
import type { PrimitiveTaskArgs, PrimitiveTaskName } from '../tasks/index.js';

/** A playbook task as plain data: its name and one module with its arguments. */
export type PlaybookTaskObject<Module extends string, Args> = { name: string } & { [K in Module]: Args };

export type GatewayTaskArgs = Static<typeof gatewaySchema>;

function constructor<Module extends PrimitiveTaskName>(module: Module) {
  return (args: PrimitiveTaskArgs<Module>, name: string = module): PlaybookTaskObject<Module, PrimitiveTaskArgs<Module>> =>
    ({ name, [module]: args }) as PlaybookTaskObject<Module, PrimitiveTaskArgs<Module>>;
}

export const tasks = {
  file: constructor('file'),
  sysctl: constructor('sysctl'),
  wireguardInterface: constructor('wireguard_interface'),
  ipRule: constructor('ip_rule'),
  ipRoute: constructor('ip_route'),
  nftTable: constructor('nft_table'),
  nftElement: constructor('nft_element'),
  wireguardGateway: (args: GatewayTaskArgs, name = 'wireguard_gateway'): PlaybookTaskObject<'wireguard_gateway', GatewayTaskArgs> => ({
    name,
    wireguard_gateway: args,
  }),
};

export type FileArgs = PrimitiveTaskArgs<'file'>;
export type SysctlArgs = PrimitiveTaskArgs<'sysctl'>;
export type WireguardInterfaceArgs = PrimitiveTaskArgs<'wireguard_interface'>;
export type IpRuleArgs = PrimitiveTaskArgs<'ip_rule'>;
export type IpRouteArgs = PrimitiveTaskArgs<'ip_route'>;
export type NftTableArgs = PrimitiveTaskArgs<'nft_table'>;
export type NftElementArgs = PrimitiveTaskArgs<'nft_element'>;
