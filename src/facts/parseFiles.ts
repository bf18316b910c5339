// Parsers for the fact script's `file`, `nft-boot`, `sysctl` and `programs` sections.

import { nftBootFileOf } from './nftBoot.js';
import type { FileFact, NftBootFileFact } from './types.js';

/**
 * A `file` section: "missing", or lines `type file|directory|other`, `mode 600`,
 * `owner root`, `group root`, `size 12`, `sha256 HEX`, `wg-pubkey KEY`, then `content`
 * followed by base64 lines (only for non-secret files up to 256 KiB).
 */
export function parseFileSection(path: string, lines: string[]): FileFact {
  const fact: FileFact = { path, exists: false };
  let content: string[] | undefined;
  for (const line of lines) {
    if (content) {
      content.push(line.trim());
      continue;
    }
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1).trim();
    switch (key) {
      case 'type':
        fact.exists = true;
        fact.type = value === 'file' || value === 'directory' ? value : 'other';
        break;
      case 'mode':
        if (/^[0-7]+$/.test(value)) fact.mode = value.padStart(4, '0');
        break;
      case 'owner':
        fact.owner = value;
        break;
      case 'group':
        fact.group = value;
        break;
      case 'size':
        if (/^\d+$/.test(value)) fact.size = Number(value);
        break;
      case 'sha256':
        if (/^[0-9a-f]{64}$/.test(value)) fact.sha256 = value;
        break;
      case 'wg-pubkey':
        if (/^[A-Za-z0-9+/]{43}=$/.test(value)) fact.wgPublicKey = value;
        break;
      case 'link':
        fact.linkTarget = value;
        break;
      case 'holds-key':
        fact.holdsKey = true;
        break;
      case 'wg-key-matches':
        fact.wgKeyMatchesInterface = value === 'yes';
        break;
      case 'content':
        content = [];
        break;
    }
  }
  if (content) {
    const decoded = decodeUtf8(Buffer.from(content.join(''), 'base64'));
    if (decoded !== undefined) fact.content = decoded;
  }
  return fact;
}

/** NUL-separated fields of a base64 section body (see files_facts in factScript.ts). */
function nulFields(lines: string[]): string[] {
  const text = Buffer.from(lines.join(''), 'base64').toString('utf8');
  const fields = text.split('\0');
  if (fields.at(-1) === '') fields.pop();
  return fields;
}

const FIND_TYPES: Record<string, FileFact['type']> = { f: 'file', d: 'directory' };

/**
 * The files of one fact run, from the batch sections: `files` (every requested path, a
 * JSON string a line), `files-stat` (find -H: path, type letter, octal mode, owner,
 * group, size per file that exists, links followed), `files-link` (find -P: path and
 * target per symbolic link), `files-sha` (sha256sum --zero: "HEX  path" per readable
 * regular file). A link whose target is missing (or a loop) is a file of type other.
 */
export function parseFileBatch(paths: string[], stat: string[], link: string[], sha: string[]): Map<string, FileFact> {
  const files = new Map<string, FileFact>();
  for (const line of paths) {
    const path = JSON.parse(line) as string;
    files.set(path, { path, exists: false });
  }
  const links = new Map<string, string>();
  const linkFields = nulFields(link);
  for (let i = 0; i + 1 < linkFields.length; i += 2) links.set(linkFields[i]!, linkFields[i + 1]!);
  const statFields = nulFields(stat);
  for (let i = 0; i + 5 < statFields.length; i += 6) {
    const [path, type, mode, owner, group, size] = statFields.slice(i, i + 6) as [string, string, string, string, string, string];
    const fact = files.get(path);
    if (!fact) continue;
    fact.exists = true;
    if (links.has(path)) fact.linkTarget = links.get(path);
    if (type === 'l') {
      fact.type = 'other'; // a dangling link: find could not follow it
      continue;
    }
    fact.type = FIND_TYPES[type] ?? 'other';
    if (/^[0-7]+$/.test(mode)) fact.mode = mode.padStart(4, '0');
    fact.owner = owner;
    fact.group = group;
    if (/^\d+$/.test(size)) fact.size = Number(size);
  }
  for (const [path, target] of links) {
    const fact = files.get(path);
    // A link loop: find -H reports nothing for it.
    if (fact && !fact.exists) Object.assign(fact, { exists: true, type: 'other', linkTarget: target });
  }
  for (const record of nulFields(sha)) {
    const fact = files.get(record.slice(66));
    const hex = record.slice(0, 64);
    if (fact?.type === 'file' && /^[0-9a-f]{64}$/.test(hex)) fact.sha256 = hex;
  }
  return files;
}

/** What a per-file `file` section adds to the batch's facts. */
export function fileExtras(fact: FileFact): Partial<FileFact> {
  const extras: Partial<FileFact> = {};
  if (fact.wgKeyMatchesInterface !== undefined) extras.wgKeyMatchesInterface = fact.wgKeyMatchesInterface;
  if (fact.wgPublicKey !== undefined) extras.wgPublicKey = fact.wgPublicKey;
  if (fact.holdsKey) extras.holdsKey = true;
  if (fact.content !== undefined) extras.content = fact.content;
  return extras;
}

/**
 * An `nft-boot` section ("inet wgplay_nat"): `live present|missing`, `file present|missing`,
 * `matches yes|no`, then, when they differ, `file-content` and `live-content`, each
 * followed by base64 lines.
 */
export function parseNftBootSection(key: string, lines: string[]): NftBootFileFact {
  const [family = '', name = ''] = key.split(' ');
  const fact: NftBootFileFact = { path: nftBootFileOf({ family, name }), exists: false, live: false, matchesLive: false };
  const blocks: Record<'file-content' | 'live-content', string[]> = { 'file-content': [], 'live-content': [] };
  let block: string[] | undefined;
  for (const line of lines) {
    if (line === 'file-content' || line === 'live-content') {
      block = blocks[line];
    } else if (block) {
      block.push(line.trim());
    } else if (line === 'live present') {
      fact.live = true;
    } else if (line === 'file present') {
      fact.exists = true;
    } else if (line === 'matches yes') {
      fact.matchesLive = true;
    }
  }
  const text = (base64: string[]) => (base64.length ? decodeUtf8(Buffer.from(base64.join(''), 'base64')) : undefined);
  const content = text(blocks['file-content']);
  const liveContent = text(blocks['live-content']);
  if (content !== undefined) fact.content = content;
  if (liveContent !== undefined) fact.liveContent = liveContent;
  return fact;
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined; // not text: the sha256 still tells whether it changed
  }
}

/** A `sysctl` section: the value (trailing newline removed) when the read succeeded, else null. */
export function parseSysctlSection(lines: string[], rc: number | undefined): string | null {
  if (rc !== 0) return null;
  return lines.join('\n');
}

/** The `programs` section: lines "NAME 1" (found by `command -v`) or "NAME 0". */
export function parsePrograms(lines: string[]): Record<string, boolean> {
  const programs = new Map<string, boolean>();
  for (const line of lines) {
    const [name, found] = line.trim().split(/\s+/);
    if (name) programs.set(name, found === '1');
  }
  return Object.fromEntries(programs);
}
