// Enabling and disabling systemd units the way `systemctl enable` does: a symbolic link
// in /etc/systemd/system/TARGET.wants/ to the unit file. A link works whether or not
// systemd runs right now (a container, a namespace host, a host being provisioned);
// where it runs, the script tells it with `systemctl daemon-reload`. Units are enabled
// for the next boot, not started: the live state is already what they would make.

import type { FileFact, HostFacts } from '../facts/types.js';
import { shellQuote } from '../shell.js';
import { commitStagedStep } from './shared/files.js';
import type { Change, Step } from './types.js';

export const SYSTEMD_UNIT_FOLDER = '/etc/systemd/system';

export interface UnitLink {
  /** "wg-quick@wg-a.service" */
  unit: string;
  /** "multi-user.target" */
  wantedBy: string;
  /** The unit file the link points to: "/lib/systemd/system/wg-quick@.service". */
  unitFile: string;
}

/** "/etc/systemd/system/multi-user.target.wants/wg-quick@wg-a.service" */
export const wantsLinkOf = (link: Pick<UnitLink, 'unit' | 'wantedBy'>) => `${SYSTEMD_UNIT_FOLDER}/${link.wantedBy}.wants/${link.unit}`;

/** Once per script, after the boot files: only where systemd is the running init. */
const daemonReloadStep: Step = {
  kind: 'shell',
  phase: 'persist',
  stage: 'daemon reload',
  once: 'systemctl daemon-reload',
  script: 'if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi',
};

/** The link makes the unit start at boot; `accepted` lists other unit files the link may already point to. */
export function planUnitEnabled(link: UnitLink, facts: HostFacts, accepted: string[] = []): Change[] {
  const path = wantsLinkOf(link);
  const fact: FileFact | undefined = facts.files[path];
  const target = fact?.linkTarget;
  if (target !== undefined && [link.unitFile, ...accepted].includes(target)) return [];
  const was = fact?.exists ? (target !== undefined ? ` (was -> ${target})` : ' (was a file)') : '';
  return [
    {
      resource: `systemd unit ${link.unit} enabled (${link.wantedBy})`,
      action: fact?.exists ? 'update' : 'create',
      diff: `+ ${path} -> ${link.unitFile}${was}`,
      steps: [
        {
          kind: 'shell',
          phase: 'persist',
          stage: 'unit links',
          // Staged and renamed into place with the phase's other files: atomic, and no mkdir per link.
          script: `wgplay_stage ${shellQuote(path)}\nln -sfn -- ${shellQuote(link.unitFile)} "$wgplay_staged"`,
        },
        commitStagedStep('persist'),
        daemonReloadStep,
      ],
    },
  ];
}

export function planUnitDisabled(link: Pick<UnitLink, 'unit' | 'wantedBy'>, facts: HostFacts): Change[] {
  const path = wantsLinkOf(link);
  const fact = facts.files[path];
  if (!fact?.exists) return [];
  return [
    {
      resource: `systemd unit ${link.unit} enabled (${link.wantedBy})`,
      action: 'delete',
      diff: `- ${path}${fact.linkTarget !== undefined ? ` -> ${fact.linkTarget}` : ''}`,
      steps: [{ kind: 'shell', phase: 'persist', stage: 'unit links', script: `rm -f -- ${shellQuote(path)}` }, daemonReloadStep],
    },
  ];
}
