import { Type, type Static } from '@sinclair/typebox';
import { shellQuote } from '../shell.js';
import { Defaulted, StringOrNumber, type Validated } from './schema.js';
import { planFileContent, sha256 } from './shared/files.js';
import { defineTask, type Change } from './types.js';

export const SysctlSchema = Type.Object(
  {
    key: Type.String({
      pattern: '^[A-Za-z0-9_-]+([./][A-Za-z0-9_-]+)+$',
      net: 'kernel-parameter',
      description: 'The kernel parameter, e.g. net.ipv4.ip_forward (net/ipv4/ip_forward is the same one).',
    }),
    value: StringOrNumber({ description: 'Its value (lists as the kernel prints them, e.g. "51820-51899").' }),
    persist: Defaulted(
      Type.Boolean({
        description: 'Also write it under /etc/sysctl.d so it survives a reboot (loaded early at boot, before the network and any wireguard-go binds a port).',
      }),
      true,
    ),
  },
  { additionalProperties: false },
);

export type SysctlArgs = Static<typeof SysctlSchema>;

/** sysctl prints lists with tabs ("51820\t51899" style); compare on single spaces. */
const normalizeValue = (value: string) => value.trim().replace(/\s+/g, ' ');

const persistedContent = (args: Validated<typeof SysctlSchema>) => `# Managed by wgplay\n${args.key} = ${normalizeValue(String(args.value))}\n`;

export function sysctlPersistPath(key: string): string {
  return `/etc/sysctl.d/90-wgplay-${key.replace(/\//g, '.')}.conf`;
}

export const sysctlTask = defineTask({
  name: 'sysctl',
  summary: "A kernel parameter's live value, optionally persisted under /etc/sysctl.d.",
  schema: SysctlSchema,
  check(args) {
    return /[\n\r]/.test(String(args.value)) ? [{ path: '/value', message: 'value must be one line' }] : [];
  },
  claims: (args) => [`kernel parameter ${args.key}`],
  programs: () => ['sysctl'],
  facts(args) {
    return {
      sysctls: [args.key],
      files: !args.persist ? [] : [{ path: sysctlPersistPath(args.key), expectSha256: sha256(persistedContent(args)) }],
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
    if (args.persist) {
      const path = sysctlPersistPath(args.key);
      changes.push(
        ...planFileContent(
          { path, content: persistedContent(args), mode: '0644', owner: 'root', group: 'root', secret: false },
          facts.files[path],
          'persist',
        ),
      );
    }
    return changes;
  },
});
