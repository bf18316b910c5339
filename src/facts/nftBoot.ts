// The boot file of an nftables table wgplay persists: the table exactly as the kernel
// holds it after an apply (`nft -s list table`, so elements that nft_element tasks
// manage are in it too), behind two lines that make loading it replace only this
// table. The same shell text writes the file (apply) and checks it (facts), so "the
// boot file matches the live table" is decided on the host, byte for byte.

import { shellQuote } from '../shell.js';

export interface NftTableName {
  family: string;
  name: string;
}

const NFT_BOOT_FOLDER = '/etc/wgplay/nftables';

/** "/etc/wgplay/nftables/inet-wgplay_nat.nft" */
export const nftBootFileOf = (table: NftTableName) => `${NFT_BOOT_FOLDER}/${table.family}-${table.name}.nft`;

/** "wgplay-nft-inet-wgplay_nat.service": one unit per table, so tables load and fail independently. */
export const nftBootUnitOf = (table: NftTableName) => `wgplay-nft-${table.family}-${table.name}.service`;

/** The key of a table in FactRequest.nftBootFiles and HostFacts.nftBootFiles: "inet wgplay_nat". */
export const nftTableKey = (table: NftTableName) => `${table.family} ${table.name}`;

/**
 * A bash command group printing what the boot file of the live table holds; it fails
 * when the table does not exist. `add table` first so that `delete table` never fails
 * on a freshly booted host: the three commands are one transaction under `nft -f`.
 */
export function nftBootTextCommand(table: NftTableName): string {
  const family = shellQuote(table.family);
  const name = shellQuote(table.name);
  const header = [
    `# Managed by wgplay: nftables table ${table.family} ${table.name} as last applied, loaded at boot by ${nftBootUnitOf(table)}.`,
    '# Loading it replaces this table only (never the rest of the ruleset). Edits here are overwritten on the next apply.',
    `table ${table.family} ${table.name}`,
    `delete table ${table.family} ${table.name}`,
  ].join('\n');
  return `{ printf '%s\\n' ${shellQuote(header)} && nft -s list table ${family} ${name} < /dev/null; }`;
}
