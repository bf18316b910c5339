// How an element is written in nft syntax (src/tasks/shared/nft.ts): a string type is
// quoted whatever it looks like, an address or port is bare, and without a known type
// only what looks like an address, a prefix, a range or a number stays bare.
import { describe, expect, it } from 'vitest';
import { nftElementText } from '../../src/tasks/shared/nft.js';

describe('nft element text', () => {
  it('quotes ifname and string values, even those that look like numbers', () => {
    expect(nftElementText('wg-a', 'ifname')).toBe('"wg-a"');
    expect(nftElementText('10', 'ifname')).toBe('"10"');
    expect(nftElementText('10', 'string')).toBe('"10"');
  });

  it('leaves addresses, prefixes and ports bare', () => {
    expect(nftElementText('10.0.0.1', 'ipv4_addr')).toBe('10.0.0.1');
    expect(nftElementText(51820, 'inet_service')).toBe('51820');
    expect(nftElementText('wg-a', 'ipv4_addr')).toBe('wg-a');
  });

  it('without a known type, quotes anything but digits, dots, colons, slashes and dashes', () => {
    expect(nftElementText('10.0.0.0/24', undefined)).toBe('10.0.0.0/24');
    expect(nftElementText('51000-51999', undefined)).toBe('51000-51999');
    expect(nftElementText('eth0', undefined)).toBe('"eth0"');
    expect(nftElementText('a1', undefined)).toBe('"a1"');
    expect(nftElementText('1a', undefined)).toBe('"1a"');
  });
});
