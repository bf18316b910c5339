import { Type } from '@sinclair/typebox';
import { holdsPrivateKey } from '../net/index.js';
import { normalizeMode, planFileAbsent, planFileContent, sha256, writeFileSteps } from './shared/files.js';
import { Defaulted, Enum, State, type Validated } from './schema.js';
import { defineTask } from './types.js';

const UNIX_NAME = '^[a-z_][a-z0-9_-]*$';

const FileSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/[^\\u0000]*$', net: 'absolute-path', description: 'Absolute path of the file on the host (/etc//x and /etc/./x are /etc/x).' }),
    state: State('the file'),
    content: Type.Optional(Type.String({ description: 'The whole content (required when state is present).' })),
    mode: Type.Optional(
      Type.String({
        pattern: '^0?[0-7]{3,4}$',
        description: 'Permissions in octal, e.g. "0640" (default: 0600 for a secret file, one marked `secret` or whose content holds a WireGuard private key; else 0644).',
      }),
    ),
    owner: Defaulted(Type.String({ pattern: UNIX_NAME, description: 'Owning user.' }), 'root'),
    group: Type.Optional(Type.String({ pattern: UNIX_NAME, description: 'Owning group (default: the owner).' })),
    secret: Defaulted(
      Type.Boolean({ description: 'The content is secret: never read back, never shown in a diff; compared by hash.' }),
      false,
    ),
    interim_content: Type.Optional(
      Type.String({
        description:
          'Written first (prepare) whenever the file changes, before `content` is written in `phase`: ' +
          'a record that must name what may exist while the apply runs, should it stop halfway.',
      }),
    ),
    phase: Defaulted(
      Enum(['prepare', 'teardown'] as const, {
        description: 'When the apply script writes it: first (prepare) or after everything else (teardown).',
      }),
      'prepare',
    ),
  },
  { additionalProperties: false },
);

/** Content that holds a private key is secret even when the task does not say so. */
const isSecret = (args: Validated<typeof FileSchema>) => args.secret || (args.content !== undefined && holdsPrivateKey(args.content));

export const fileTask = defineTask({
  name: 'file',
  summary: 'A file with the given content, mode and owner, written atomically (or absent).',
  schema: FileSchema,
  check(args) {
    if (args.state === 'present' && args.content === undefined) {
      return [{ path: '/content', message: 'content is required when state is present' }];
    }
    if (args.path.endsWith('/')) return [{ path: '/path', message: 'path must name a file, not a folder' }];
    const nul = args.content?.indexOf('\u0000') ?? -1;
    if (nul >= 0) return [{ path: '/content', message: `content holds a NUL byte (at character ${nul}): a file wgplay writes is text` }];
    return [];
  },
  claims: (args) => [`file ${args.path}`],
  programs: () => [],
  // The content to write is in the steps: a saved plan would hold it.
  secretInArgs: (args) => (args.content !== undefined && isSecret(args) ? 'writes a secret file' : undefined),
  facts(args) {
    const secret = isSecret(args);
    const expectSha256 = args.content !== undefined && !secret ? sha256(args.content) : undefined;
    return { files: [{ path: args.path, secret, expectSha256 }] };
  },
  plan(args, facts) {
    const fact = facts.files[args.path];
    if (args.state === 'absent') return planFileAbsent(args.path, fact, args.phase);
    const desired = {
      path: args.path,
      content: args.content ?? '',
      // A key must not be world-readable because the task forgot to say `mode`.
      mode: normalizeMode(args.mode ?? (isSecret(args) ? '0600' : '0644')),
      owner: args.owner,
      group: args.group ?? args.owner,
      secret: args.secret,
    };
    const changes = planFileContent(desired, fact, args.phase);
    if (args.interim_content === undefined || changes.length === 0) return changes;
    if (args.interim_content === desired.content) return planFileContent(desired, fact, 'prepare');
    const interim = writeFileSteps({ ...desired, content: args.interim_content }, 'prepare');
    return changes.map((change) => ({ ...change, steps: [...interim, ...change.steps] }));
  },
});
