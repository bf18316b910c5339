// Higher-level modules a playbook can name. Importing this module registers them.
import { registerModule } from '../tasks/registry.js';
import { gatewayModule } from './gateway/index.js';

export const expandingModules = [gatewayModule];

for (const module of expandingModules) registerModule(module);
