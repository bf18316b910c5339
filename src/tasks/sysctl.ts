import { shellQuote } from '../shell.js';
import { planFileContent, sha256 } from './file.js';
import type { Change, TaskModule } from './types.js';

export interface SysctlArgs {
  key: string;
  value: string | number;
  /** Also persist under /etc/sysctl.d so the value survives a reboot (default true). */
  persist?: boolean;
}

/** sysctl prints lists with tabs ("51820\t51899" style); compare on single spaces. */
const normalizeValue = (value: string) => value.trim().replace(/\s+/g, ' ');

const persistedContent = (args: SysctlArgs) => `# Managed by wgplay\n${args.key} = ${normalizeValue(String(args.value))}\n`;

export function sysctlPersistPath(key: string): string {
  return `/etc/sysctl.d/90-wgplay-${key.replace(/\//g, '.')}.conf`;
}

export const sysctlTask: TaskModule<SysctlArgs> = {
  name: 'sysctl',
  summary: "A kernel parameter's live value, optionally persisted under /etc/sysctl.d.",
  schema: {
    type: 'object',
    required: ['key', 'value'],
    additionalProperties: false,
    properties: {
      key: { type: 'string', pattern: '^[A-Za-z0-9_-]+([./][A-Za-z0-9_-]+)+$' },
      value: { type: ['string', 'number'] },
      persist: { type: 'boolean' },
    },
  },
  check(args) {
    return /[\n\r]/.test(String(args.value)) ? [{ path: '/value', message: 'value must be one line' }] : [];
  },
  facts(args) {
    return {
      sysctls: [args.key],
      files: args.persist === false ? [] : [{ path: sysctlPersistPath(args.key), expectSha256: sha256(persistedContent(args)) }],
    };
  },
  plan(args, facts) {
    const want = normalizeValue(String(args.value));
    const live = facts.sysctls[args.key];
    const changes: Change[] = [];
    if (live === null || live === undefined) {
      throw new Error(`kernel parameter ${args.key} does not exist on this host`);
    }
    if (normalizeValue(live) !== want) {
      changes.push({
        resource: `sysctl ${args.key}`,
        action: 'update',
        diff: `- ${args.key} = ${normalizeValue(live)}\n+ ${args.key} = ${want}`,
        steps: [{ kind: 'shell', phase: 'prepare', script: `sysctl -q -w ${shellQuote(`${args.key}=${want}`)}` }],
      });
    }
    if (args.persist !== false) {
      const path = sysctlPersistPath(args.key);
      changes.push(
        ...planFileContent(
          { path, content: persistedContent(args), mode: '0644', owner: 'root', group: 'root', secret: false },
          facts.files[path],
        ),
      );
    }
    return changes;
  },
};
