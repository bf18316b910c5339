export { loadPlaybook, parsePlaybook, playbookFromObject, MAGIC_VARIABLES } from './load.js';
export { resolvePlaybook } from './resolve.js';
export { parseTemplate, type TemplatePart, type TemplateRef } from './template.js';
export type { HostVars, MapEntry, MapNode, Node, Play, Playbook, PlaybookTask, SelectHosts } from './types.js';
