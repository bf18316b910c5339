// The catalog of expanding modules a playbook can name: adding one is its folder plus
// one line here.
import { gatewayModule } from './gateway/index.js';

export const expandingModules = [gatewayModule] as const;
