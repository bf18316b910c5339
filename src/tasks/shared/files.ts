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

/**
 * Shell that writes a file atomically: a temporary file in the same folder, then a
 * rename. The content is a quoted word for bash's builtin printf, and the mode comes
 * from the umask where it can: one process (mv) per file, not six.
 */
export function writeFileScript(file: DesiredFile): string {
  const path = shellQuote(file.path);
  const tmp = shellQuote(`${file.path}.wgplay-tmp`);
  const folder = file.path.slice(0, file.path.lastIndexOf('/')) || '/';
  const mode = parseInt(file.mode, 8);
  const umaskFits = (mode & 0o7111) === 0;
  const lines = [
    `[ -d ${shellQuote(folder)} ] || mkdir -p -- ${shellQuote(folder)}`,
    `umask ${umaskFits ? (0o666 & ~mode).toString(8).padStart(4, '0') : '0077'}`,
    `printf '%s' ${shellQuote(file.content)} > ${tmp}`,
    'umask 0077',
  ];
  if (!umaskFits) lines.push(`chmod ${shellQuote(file.mode)} ${tmp}`);
  // The script runs as root: a new file is root's already.
  if (file.owner !== 'root' || file.group !== 'root') lines.push(`chown ${shellQuote(`${file.owner}:${file.group}`)} ${tmp}`);
  lines.push(`mv -f -- ${tmp} ${path}`);
  return lines.join('\n');
}

/** The changes that make `fact` match `desired` (shared by every task that writes a file). */
export function planFileContent(desired: DesiredFile, fact: FileFact | undefined, phase: Step['phase'] = 'prepare'): Change[] {
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
  const script = contentDiffers
    ? writeFileScript(desired)
    : [
        `chown ${shellQuote(`${desired.owner}:${desired.group}`)} ${shellQuote(desired.path)}`,
        `chmod ${shellQuote(desired.mode)} ${shellQuote(desired.path)}`,
      ].join('\n');
  return [
    {
      resource: `file ${desired.path}`,
      action: exists ? 'update' : 'create',
      diff,
      steps: [{ kind: 'shell', phase, script }],
    },
  ];
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
