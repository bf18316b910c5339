import { defineModule } from '../../tasks/types.js';
import { gatewaySchema } from './args.js';
import { checkGateway } from './check.js';
import { expandGateway } from './expand.js';
import { stateFileOf } from './record.js';

export const gatewayModule = defineModule({
  name: 'wireguard_gateway',
  summary: "One gateway, many customers with overlapping address spaces: per-customer WireGuard interface, table, policy rule, route and NAT (the seed article's design).",
  schema: gatewaySchema,
  check: checkGateway,
  facts: (args) => ({ files: [{ path: stateFileOf(args) }] }),
  expand: expandGateway,
});
