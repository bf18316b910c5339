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
