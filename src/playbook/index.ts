export { loadPlaybook, parsePlaybook, playbookFromObject } from './load.js';
export { resolvePlaybook } from './resolve.js';
export { parseTemplate } from './template.js';
export type { HostVars, Playbook } from './types.js';
