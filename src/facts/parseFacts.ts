// Turns the whole output of the fact script (factScript.ts) into HostFacts.
//
// Sections, in the order the script prints them (each starts with `@@wgplay NAME [ARG]`;
// command sections end with `@@wgplay rc N`, 127 = program absent):
//   facts 1                 format version
//   kernel / uid / hostname /proc/sys/kernel/osrelease, $EUID, /proc/sys/kernel/hostname
//   programs                "NAME 1" per program found, "NAME 0" per program absent
//   ip-link                 ip -j -d link show
//   ip-addr                 ip -j addr show
//   ip-rule inet|inet6      ip -j -4|-6 rule show
//   ip-route inet|inet6     ip -j -4|-6 route show table all
//   nft-json                nft -j list ruleset
//   nft-text                nft -s -a list ruleset
//   wg-dump                 wg show all dump, keys replaced by (set)/(none); rc 124 or 137 =
//                           timed out (a daemon does not answer), then wg-unanswered
//   wg-unanswered           the interfaces that did not answer alone, one a line
//   ssh-connection          $SSH_CONNECTION, then `ip -j route get CLIENT from SERVER`
//                           (empty when not run under sshd)
//   nft-canonical "FAM NAME" one per requested table text: "mode scratch|check", then
//                           nft's listing of it (scratch) or its errors; rc != 0 = refused
//   files                   the requested paths, one JSON string a line
//   files-stat / files-link / files-sha
//                           one base64 line each: find's and sha256sum's NUL-separated
//                           records (see parseFileBatch)
//   file "PATH"             per file only what was asked beyond that (see parseFileSection)
//   sysctl "KEY"            one per requested key: the value, rc != 0 when missing
//   inotify                 when requested: "kernel-wireguard 0|1", "in-use N" (when counted)
//   clock                   the host's time, Unix seconds
//   nft-boot "FAMILY NAME"  one per requested table: its boot file against the live table
//                           (see parseNftBootSection)
//   end                     the script ran to its end

import { WgplayError } from '../errors.js';
import { FACT_FORMAT_VERSION } from './factScript.js';
import { fileExtras, parseFileBatch, parseFileSection, parseNftBootSection, parsePrograms, parseSysctlSection } from './parseFiles.js';
import { parseIpAddresses, parseIpLinks, parseIpRoutes, parseIpRules } from './parseIp.js';
import { parseNftCanonical, parseNftRuleset } from './parseNft.js';
import { parseSshConnection } from './parseSshConnection.js';
import { parseWgDump } from './parseWg.js';
import { splitFactSections, type FactSection } from './sections.js';
import type { HostFacts, InotifyFact, NftBootFileFact } from './types.js';

const COMMANDS: Record<string, string> = {
  kernel: 'reading /proc/sys/kernel/osrelease',
  hostname: 'reading /proc/sys/kernel/hostname',
  'ip-link': 'ip -j -d link show',
  'ip-addr': 'ip -j addr show',
  'ip-rule inet': 'ip -j -4 rule show',
  'ip-rule inet6': 'ip -j -6 rule show',
  'ip-route inet': 'ip -j -4 route show table all',
  'ip-route inet6': 'ip -j -6 route show table all',
  'nft-json': 'nft -j list ruleset',
  'nft-text': 'nft -s -a list ruleset',
  'wg-dump': 'wg show all dump',
};

function parseInotifySection(lines: string[]): InotifyFact {
  const field = (name: string) => lines.find((line) => line.startsWith(`${name} `))?.slice(name.length + 1).trim();
  const inUse = field('in-use');
  const fact: InotifyFact = { kernelWireguard: field('kernel-wireguard') === '1' };
  if (inUse !== undefined) fact.instancesInUse = /^\d+$/.test(inUse) ? Number(inUse) : 0;
  return fact;
}

/** The fact script's bounded `wg show all dump` ran out of time; `unanswered`: the interfaces that did not answer alone. */
function wgDumpTimedOut(unanswered: string[]): string {
  const names = unanswered.map((line) => line.trim()).filter(Boolean).sort();
  const which = names.length === 0 ? 'a wireguard-go daemon' : `the wireguard-go daemon of ${names.join(', ')}`;
  return `wg show all dump did not finish: ${which} does not answer (stopped or hung); the WireGuard state cannot be read until it answers or is restarted`;
}

export function parseFacts(output: string): HostFacts {
  const sections = splitFactSections(output);
  const header = sections[0];
  if (!header || header.name !== 'facts') {
    throw new WgplayError('the fact script printed no facts (is bash available on the host?)');
  }
  if (header.argument !== String(FACT_FORMAT_VERSION)) {
    throw new WgplayError(`the fact output has format ${header.argument ?? '?'}, this wgplay reads format ${FACT_FORMAT_VERSION}`);
  }
  if (sections[sections.length - 1]?.name !== 'end') {
    throw new WgplayError('the fact output is incomplete (no end marker): the fact script was interrupted');
  }

  const warnings: string[] = [];
  const byKey = new Map<string, FactSection>();
  for (const section of sections) {
    if (section.name === 'file' || section.name === 'sysctl' || section.name === 'nft-boot') continue;
    byKey.set(section.argument === undefined ? section.name : `${section.name} ${section.argument}`, section);
  }
  /** The body of a command section; "" when the command is absent or failed (with a warning). */
  const body = (key: string): string => {
    const section = byKey.get(key);
    if (!section) {
      warnings.push(`the fact output has no ${key} section`);
      return '';
    }
    if (section.rc === 127) return '';
    if (key === 'wg-dump' && (section.rc === 124 || section.rc === 137)) {
      warnings.push(wgDumpTimedOut(byKey.get('wg-unanswered')?.lines ?? []));
      return '';
    }
    if (section.rc !== 0) {
      warnings.push(`${COMMANDS[key] ?? key} exited with status ${section.rc ?? 'unknown'}`);
      return '';
    }
    return section.lines.join('\n');
  };

  const section = (name: string) => byKey.get(name)?.lines ?? [];
  const files = parseFileBatch(section('files'), section('files-stat'), section('files-link'), section('files-sha'));
  const sysctls = new Map<string, string | null>();
  const nftBootFiles = new Map<string, NftBootFileFact>();
  for (const section of sections) {
    if (section.name === 'nft-boot' && section.argument !== undefined) {
      nftBootFiles.set(section.argument, parseNftBootSection(section.argument, section.lines));
    } else if (section.name === 'file' && section.argument !== undefined) {
      // What was asked for beyond the batch (a key comparison, a public key, content). A
      // file the batch does not name is a whole section of its own (test captures write those).
      const parsed = parseFileSection(section.argument, section.lines);
      const fact = files.get(section.argument);
      if (fact) Object.assign(fact, fileExtras(parsed));
      else files.set(section.argument, parsed);
    } else if (section.name === 'sysctl' && section.argument !== undefined) {
      sysctls.set(section.argument, parseSysctlSection(section.lines, section.rc));
    }
  }

  const uid = body('uid').trim();
  const clock = (byKey.get('clock')?.lines ?? []).join('').trim();
  const facts: HostFacts = {
    links: parseIpLinks(body('ip-link')),
    addresses: parseIpAddresses(body('ip-addr')),
    rules: [...parseIpRules(body('ip-rule inet'), 'inet'), ...parseIpRules(body('ip-rule inet6'), 'inet6')],
    routes: [...parseIpRoutes(body('ip-route inet'), 'inet'), ...parseIpRoutes(body('ip-route inet6'), 'inet6')],
    nftTables: parseNftRuleset(body('nft-json'), body('nft-text')),
    wg: parseWgDump(body('wg-dump')),
    files: Object.fromEntries(files),
    sysctls: Object.fromEntries(sysctls),
    nftBootFiles: Object.fromEntries(nftBootFiles),
    programs: parsePrograms(byKey.get('programs')?.lines ?? []),
    system: {
      kernel: body('kernel').trim(),
      uid: /^\d+$/.test(uid) ? Number(uid) : -1,
      hostname: body('hostname').trim(),
      clock: /^\d+$/.test(clock) ? Number(clock) : Math.floor(Date.now() / 1000),
    },
  };
  const canonical = sections.filter((section) => section.name === 'nft-canonical' && section.argument !== undefined && section.rc !== 127);
  if (canonical.length > 0) {
    facts.nftCanonical = Object.fromEntries(canonical.map((section) => [section.argument!, parseNftCanonical(section.lines, section.rc)]));
  }
  const sshConnection = parseSshConnection(byKey.get('ssh-connection')?.lines ?? []);
  if (sshConnection) facts.sshConnection = sshConnection;
  const inotify = byKey.get('inotify');
  if (inotify) facts.inotify = parseInotifySection(inotify.lines);
  if (warnings.length > 0) facts.warnings = warnings;
  return facts;
}
