// How an nftables table wgplay manages comes back at boot: its boot file (the live
// table dumped after the apply, see facts/nftBoot.ts) and a one-shot unit of its own
// that loads it early (Before=network-pre.target, so before any interface, wg-quick
// unit or service comes up; After=nftables.service, so a user's `flush ruleset` there
// runs first). wgplay never touches /etc/nftables.conf and never flushes the ruleset.

import { nftBootFileOf, nftBootTextCommand, nftBootUnitOf, nftTableKey, type NftTableName } from '../facts/nftBoot.js';
import type { FactRequest, HostFacts } from '../facts/types.js';
import { shellQuote } from '../shell.js';
import { planFileAbsent, planFileContent, sha256, unifiedDiff } from './shared/files.js';
import { planUnitDisabled, planUnitEnabled, SYSTEMD_UNIT_FOLDER, wantsLinkOf, type UnitLink } from './systemd.js';
import type { Change, Step } from './types.js';

const unitFileOf = (table: NftTableName) => `${SYSTEMD_UNIT_FOLDER}/${nftBootUnitOf(table)}`;
const linkOf = (table: NftTableName): UnitLink => ({ unit: nftBootUnitOf(table), wantedBy: 'sysinit.target', unitFile: unitFileOf(table) });

export function renderNftBootUnit(table: NftTableName): string {
  return `# Managed by wgplay: loads nftables table ${table.family} ${table.name} at boot (replacing only that table).
[Unit]
Description=wgplay: nftables table ${table.family} ${table.name}
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target
After=nftables.service

[Service]
Type=oneshot
RemainAfterExit=yes
StandardInput=null
ExecStart=/usr/sbin/nft -f ${nftBootFileOf(table)}

[Install]
WantedBy=sysinit.target
`;
}

/**
 * Rewrites the table's boot file from the live table. Every task that changes the
 * table (nft_table, nft_element) adds it; it runs once, after the firewall phase.
 */
export function nftBootDumpStep(table: NftTableName): Step {
  const path = nftBootFileOf(table);
  const tmp = shellQuote(`${path}.wgplay-tmp`);
  return {
    kind: 'shell',
    phase: 'persist',
    stage: 'nft dumps',
    once: `nft boot file ${nftTableKey(table)}`,
    // Not when the table is gone (deleted in this run): its boot file is removed instead.
    script: [
      `if nft list table ${shellQuote(table.family)} ${shellQuote(table.name)} > /dev/null 2>&1; then`,
      `  mkdir -p -- ${shellQuote(path.slice(0, path.lastIndexOf('/')))}`,
      `  ${nftBootTextCommand(table)} > ${tmp}`,
      `  chmod 0644 ${tmp}`,
      `  mv -f -- ${tmp} ${shellQuote(path)}`,
      'fi',
    ].join('\n'),
  };
}

export function nftPersistFacts(table: NftTableName): FactRequest {
  return {
    nftBootFiles: [table],
    files: [
      { path: unitFileOf(table), expectSha256: sha256(renderNftBootUnit(table)) },
      { path: wantsLinkOf(linkOf(table)), statOnly: true },
    ],
  };
}

/**
 * The table's boot file, unit and link, when the table is persisted. `liveChanges`:
 * the table itself changes in this apply, so its boot file is rewritten after it.
 */
export function planNftPersisted(table: NftTableName, facts: HostFacts, liveChanges: boolean): Change[] {
  const path = nftBootFileOf(table);
  const boot = facts.nftBootFiles[nftTableKey(table)];
  const changes: Change[] = [];
  const resource = `nft boot file ${path}`;
  if (liveChanges || !boot?.exists || !boot.matchesLive) {
    let diff: string;
    if (!boot?.exists) diff = `+ ${path}: the table as applied, for the next boot`;
    else if (liveChanges || boot.liveContent === undefined) diff = `~ ${path}: rewritten from the table as applied`;
    else diff = unifiedDiff(`${path} (boot)`, `${path} (live table)`, `${boot.content ?? ''}\n`, `${boot.liveContent}\n`);
    changes.push({ resource, action: boot?.exists ? 'update' : 'create', diff, steps: [nftBootDumpStep(table)] });
  }
  changes.push(
    ...planFileContent(
      { path: unitFileOf(table), content: renderNftBootUnit(table), mode: '0644', owner: 'root', group: 'root', secret: false },
      facts.files[unitFileOf(table)],
      'persist',
    ),
  );
  changes.push(...planUnitEnabled(linkOf(table), facts));
  return changes;
}

/** Nothing of the table comes back at boot: link, unit and boot file removed (after any rewrite of it). */
export function planNftNotPersisted(table: NftTableName, facts: HostFacts): Change[] {
  const boot = facts.nftBootFiles[nftTableKey(table)];
  const changes = planUnitDisabled(linkOf(table), facts);
  changes.push(...planFileAbsent(unitFileOf(table), facts.files[unitFileOf(table)], 'persist'));
  if (boot?.exists) {
    changes.push({
      resource: `nft boot file ${boot.path}`,
      action: 'delete',
      diff: `- ${boot.path}`,
      steps: [{ kind: 'shell', phase: 'persist', stage: 'nft dump removals', script: `rm -f -- ${shellQuote(boot.path)}` }],
    });
  }
  return changes;
}
