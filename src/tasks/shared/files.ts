// Writing files, shared by every task that writes one (file, sysctl's persisted value,
// wireguard_interface's wg-quick file): atomic writes, diffs, hashes.
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import type { FileFact } from '../../facts/types.js';
import { holdsPrivateKey } from '../../net/index.js';
import { shellQuote } from '../../shell.js';
import type { Change, Step } from '../types.js';

interface DesiredFile {
  path: string;
  content: string;
  mode: string;
  owner: string;
  group: string;
  secret: boolean;
}

/** A unified diff without the "Index:"/"===" preamble, for the operator's eyes. */
export function unifiedDiff(oldName: string, newName: string, before: string, after: string): string {
  return createTwoFilesPatch(oldName, newName, before, after, undefined, undefined, { context: 3 })
    .split('\n')
    .filter((line) => !line.startsWith('Index: ') && !/^=+$/.test(line))
    .join('\n')
    .trimEnd();
}

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The phases that write files (each ends with its files renamed into place). */
export type FilePhase = 'prepare' | 'teardown' | 'persist';

/** The folder beside its files where the apply script writes them first (same file system: a rename). */
export const STAGING_FOLDER = '.wgplay-stage';

/**
 * Helpers of the apply script: files are written into a staging folder beside their
 * place (wgplay_stage PATH sets wgplay_staged to where), and each folder's files are
 * renamed into place at once, one `mv` per folder (wgplay_commit_staged, the last step
 * of every phase that wrote files): each rename is atomic, and a thousand files cost
 * a thousand builtin `printf`s and a few processes, not a thousand `mv`s. A staging
 * folder an interrupted run left behind is replaced the next time one is made there.
 */
export const FILE_STAGING_HELPERS = String.raw`declare -A wgplay_stage_seen=()
wgplay_stage_dirs=()
wgplay_staged=
wgplay_stage() {
  local dir=\${1%/*}
  dir=\${dir:-/}
  if [ -z "\${wgplay_stage_seen[$dir]+x}" ]; then
    [ -d "$dir" ] || mkdir -p -- "$dir"
    [ ! -e "\${dir%/}/${STAGING_FOLDER}" ] || rm -rf -- "\${dir%/}/${STAGING_FOLDER}"
    mkdir -m 0700 -- "\${dir%/}/${STAGING_FOLDER}"
    wgplay_stage_seen[$dir]=1
    wgplay_stage_dirs+=("$dir")
  fi
  wgplay_staged=\${dir%/}/${STAGING_FOLDER}/\${1##*/}
}
wgplay_commit_staged() {
  local dir files
  for dir in "\${wgplay_stage_dirs[@]}"; do
    shopt -s dotglob
    files=("\${dir%/}/${STAGING_FOLDER}/"*)
    shopt -u dotglob
    mv -f -t "$dir" -- "\${files[@]}"
    rmdir -- "\${dir%/}/${STAGING_FOLDER}"
  done
  wgplay_stage_dirs=()
  wgplay_stage_seen=()
}`.replaceAll('\\${', '${');

/** The step that renames a phase's staged files into place (once per phase, after its writes). */
export const commitStagedStep = (phase: FilePhase): Step => ({
  kind: 'shell',
  phase,
  stage: 'files committed',
  once: 'wgplay_commit_staged',
  script: 'wgplay_commit_staged',
});

/**
 * Shell that writes a file into its staging folder (committed by commitStagedStep). The
 * content is a quoted word for bash's builtin printf, and the mode comes from the umask
 * where it can: no process at all for most files.
 */
export function writeFileScript(file: DesiredFile): string {
  const mode = parseInt(file.mode, 8);
  const umaskFits = (mode & 0o7111) === 0;
  const lines = [
    `wgplay_stage ${shellQuote(file.path)}`,
    `umask ${umaskFits ? (0o666 & ~mode).toString(8).padStart(4, '0') : '0077'}`,
    `printf '%s' ${shellQuote(file.content)} > "$wgplay_staged"`,
    'umask 0077',
  ];
  if (!umaskFits) lines.push(`chmod ${shellQuote(file.mode)} "$wgplay_staged"`);
  // The script runs as root: a new file is root's already.
  if (file.owner !== 'root' || file.group !== 'root') lines.push(`chown ${shellQuote(`${file.owner}:${file.group}`)} "$wgplay_staged"`);
  return lines.join('\n');
}

/** The steps that write a file atomically in `phase`: staged, then renamed with the phase's others. */
export function writeFileSteps(file: DesiredFile, phase: FilePhase): Step[] {
  return [{ kind: 'shell', phase, script: writeFileScript(file) }, commitStagedStep(phase)];
}

/** The changes that make `fact` match `desired` (shared by every task that writes a file). */
export function planFileContent(desired: DesiredFile, fact: FileFact | undefined, phase: FilePhase = 'prepare'): Change[] {
  const exists = fact?.exists ?? false;
  const contentDiffers = !exists || fact?.sha256 !== sha256(desired.content);
  const metaDiffers =
    exists && (fact?.mode !== desired.mode || fact?.owner !== desired.owner || fact?.group !== desired.group);
  if (!contentDiffers && !metaDiffers) return [];

  let diff: string;
  // Secret: marked so, or the host's file or the wanted content holds a private key.
  if (desired.secret || fact?.holdsKey || holdsPrivateKey(desired.content)) {
    diff = exists ? `~ ${desired.path}: content differs (secret)` : `+ ${desired.path}: content (secret, not shown)`;
  } else if (contentDiffers) {
    diff = unifiedDiff(exists ? desired.path : '/dev/null', desired.path, exists ? fact?.content ?? '' : '', desired.content);
  } else {
    diff = '';
  }
  if (metaDiffers) {
    const was = `${fact?.mode} ${fact?.owner}:${fact?.group}`;
    diff += `${diff ? '\n' : ''}~ ${desired.path}: mode/owner ${was} -> ${desired.mode} ${desired.owner}:${desired.group}`;
  }
  const steps: Step[] = contentDiffers
    ? writeFileSteps(desired, phase)
    : [
        {
          kind: 'shell',
          phase,
          script: [
            `chown ${shellQuote(`${desired.owner}:${desired.group}`)} ${shellQuote(desired.path)}`,
            `chmod ${shellQuote(desired.mode)} ${shellQuote(desired.path)}`,
          ].join('\n'),
        },
      ];
  return [{ resource: `file ${desired.path}`, action: exists ? 'update' : 'create', diff, steps }];
}

export function planFileAbsent(path: string, fact: FileFact | undefined, phase: Step['phase'] = 'teardown'): Change[] {
  if (!fact?.exists) return [];
  return [
    {
      resource: `file ${path}`,
      action: 'delete',
      diff: `- ${path}`,
      steps: [{ kind: 'shell', phase, script: `rm -f -- ${shellQuote(path)}` }],
    },
  ];
}

/** "600" -> "0600", the form the fact script reports. */
export function normalizeMode(mode: string): string {
  return mode.padStart(4, '0');
}
