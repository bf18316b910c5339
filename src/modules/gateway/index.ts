import { defineModule } from '../../tasks/types.js';
import { gatewaySchema } from './args.js';
import { checkGateway } from './check.js';
import { expandGateway } from './expand.js';
import { RECORD_CONTENT_LIMIT } from './record.js';

export const gatewayModule = defineModule({
  name: 'wireguard_gateway',
  summary: "One gateway, many customers with overlapping address spaces: per-customer WireGuard interface, table, policy rule, route and NAT (the seed article's design).",
  schema: gatewaySchema,
  check: checkGateway,
  // The record grows with the customers (~200 bytes each): read it whole.
  facts: (args) => ({ files: [{ path: args.state_file, contentLimit: RECORD_CONTENT_LIMIT }] }),
  expand: expandGateway,
});
