// What the nftables tasks share (nft_table, nft_element).
import { Enum } from '../schema.js';

export const NFT_NAME = '^[A-Za-z][A-Za-z0-9_]{0,31}$';

export const NftFamily = Enum(['inet', 'ip', 'ip6', 'arp', 'bridge', 'netdev'] as const, { description: 'nftables address family of the table.' });

/** nft syntax for one element: strings of type ifname need quotes, the rest is bare. */
export function nftElementText(value: string | number, type: string | undefined): string {
  const text = String(value);
  const looksBare = /^[0-9.:/-]+$/.test(text);
  if (type === 'ifname' || type === 'string' || (type === undefined && !looksBare)) return `"${text}"`;
  return text;
}
