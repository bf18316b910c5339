import { describe, expect, it } from 'vitest';
import {
  canonicalValue,
  interfaceNameProblem,
  parseEndpoint,
  prefixCovers,
  prefixesOverlap,
  prefixLengthOf,
  prefixKey,
  resolveEndpoint,
  scrubKeys,
  holdsPrivateKey,
  type NetKind,
} from '../../src/net/index.js';

const value = (kind: NetKind, text: string) => {
  const result = canonicalValue(kind, text);
  return result.ok ? result.value : `error: ${result.message}`;
};

describe('addresses are parsed strictly and written canonically', () => {
  it('writes IPv6 compressed and lower-case, the way ip -j and wg print it', () => {
    expect(value('host-address', 'fd00:0:0:0::1')).toBe('fd00::1');
    expect(value('host-address', 'FD00:200:0:0::1')).toBe('fd00:200::1');
    expect(value('prefix', 'FD00::/64')).toBe('fd00::/64');
    expect(value('allowed-ip', 'FD00:0::/64')).toBe('fd00::/64');
    expect(value('interface-address', 'fd00:0:0:0::1')).toBe('fd00::1/128');
  });

  it('refuses IPv4 octets with a leading zero, naming the unambiguous form', () => {
    expect(value('host-ipv4', '10.100.100.01')).toBe(
      'error: "10.100.100.01" has an octet with a leading zero, which tools read differently (octal or decimal): write 10.100.100.1',
    );
    expect(value('interface-address', '10.0.0.01/24')).toMatch(/leading zero/);
    expect(value('endpoint', '192.0.2.01:51820')).toMatch(/leading zero/);
  });

  it('refuses what a character-class test let through', () => {
    for (const text of [':::::/64', '1:2:3:4:5:6:7:8:9/128', '1.2.3.4:5', ':', ':::', '10.1', '0x0a.0.0.1', 'fe80::1%eth0', '10.0.0.300']) {
      expect(value('allowed-ip', text), text).toMatch(/^error: /);
    }
  });

  it('refuses host bits in a network, saying which network was meant', () => {
    expect(value('prefix', '10.9.9.1/24')).toBe('error: "10.9.9.1/24" has host bits set: the network of 10.9.9.1/24 is 10.9.9.0/24');
    expect(value('allowed-ip', 'fd00::1/64')).toMatch(/host bits set: the network of fd00::1\/64 is fd00::\/64/);
    // An interface address has host bits by nature.
    expect(value('interface-address', '10.9.9.1/24')).toBe('10.9.9.1/24');
  });

  it('drops a full-length prefix where ip does, keeps it where wg does', () => {
    expect(value('prefix', '10.0.0.1/32')).toBe('10.0.0.1');
    expect(value('allowed-ip', '10.0.0.1')).toBe('10.0.0.1/32');
    expect(value('rule-selector', 'all')).toBe('all');
    expect(value('route-destination', 'default')).toBe('default');
    expect(prefixKey('FD00:0::/64')).toBe('fd00::/64');
    expect(prefixKey('10.0.0.1/32')).toBe('10.0.0.1');
  });

  it('takes IPv4-mapped IPv6 as the IPv4 address where an IPv4 address is meant', () => {
    expect(value('host-ipv4', '::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(value('host-address', '::FFFF:10.0.0.1')).toBe('::ffff:10.0.0.1');
    expect(value('host-ipv4', '::ffff:127.0.0.1')).toMatch(/loopback/);
    expect(value('host-ipv4', 'fd00::1')).toMatch(/not an IPv4 address/);
  });

  it('refuses addresses no host can have where a host is meant', () => {
    expect(value('host-ipv4', '0.0.0.0')).toMatch(/unspecified/);
    expect(value('host-ipv4', '127.0.0.1')).toMatch(/loopback/);
    expect(value('host-ipv4', '255.255.255.255')).toMatch(/broadcast/);
    expect(value('host-ipv4', '224.0.0.1')).toMatch(/multicast/);
    expect(value('host-address', '::')).toMatch(/unspecified/);
    expect(value('host-address', 'ff02::1')).toMatch(/multicast/);
    expect(value('endpoint', '127.0.0.1:51820')).toMatch(/loopback/);
  });

  it('tells whether a prefix holds an address, and how long the match is', () => {
    expect(prefixCovers('10.0.0.0/8', '10.1.2.3')).toBe(true);
    expect(prefixCovers('10.0.0.1', '10.0.0.1')).toBe(true);
    expect(prefixCovers('10.0.0.1', '10.0.0.2')).toBe(false);
    expect(prefixCovers(undefined, 'fd00::1')).toBe(true);
    expect(prefixCovers('default', '192.0.2.1')).toBe(true);
    expect(prefixCovers('fd00::/8', '10.0.0.1')).toBe(false);
    expect(prefixCovers('10.0.0.0/8', '::ffff:10.0.0.1')).toBe(true);
    expect(prefixLengthOf('10.0.0.0/8', '10.1.2.3')).toBe(8);
    expect(prefixLengthOf('all', '10.1.2.3')).toBe(0);
    expect(prefixLengthOf('192.168.0.0/16', '10.1.2.3')).toBe(-1);
  });

  it('compares overlapping networks by their addresses, not their spelling', () => {
    expect(prefixesOverlap('10.0.0.0/8', '10.100.100.1')).toBe(true);
    expect(prefixesOverlap('10.100.100.0/24', '10.100.101.0/24')).toBe(false);
    expect(prefixesOverlap('fd00::/64', 'FD00:0::1')).toBe(true);
  });
});

describe('ports and endpoints', () => {
  it('checks the port range of an endpoint (wg would wrap 99999 to 34463)', () => {
    expect(value('endpoint', '192.0.2.1:99999')).toBe('error: "192.0.2.1:99999" has port 99999, outside 1-65535');
    expect(value('endpoint', '192.0.2.1:0')).toMatch(/outside 1-65535/);
    expect(value('endpoint', '192.0.2.1:051820')).toMatch(/not a number/);
    expect(value('endpoint', '192.0.2.1')).toMatch(/no port/);
  });

  it('writes IPv6 endpoints the way wg show prints them', () => {
    expect(value('endpoint', '[FD00:0::7]:51820')).toBe('[fd00::7]:51820');
    expect(value('endpoint', 'fd00::7:51820')).toMatch(/without brackets/);
    expect(parseEndpoint('VPN.Example.COM:51820')).toEqual({ ok: true, value: { host: 'vpn.example.com', port: 51820, isName: true, text: 'vpn.example.com:51820' } });
    expect(value('endpoint', 'bad_name!:51820')).toMatch(/neither an IP address nor a DNS name/);
  });

  it('resolves a name once, through the lookup it is given, with a timeout', async () => {
    const names: string[] = [];
    const lookup = async (name: string) => {
      names.push(name);
      return name === 'gw.test' ? ['::1', '192.0.2.9'] : [];
    };
    await expect(resolveEndpoint('GW.test:51820', { lookup })).resolves.toBe('192.0.2.9:51820');
    await expect(resolveEndpoint('192.0.2.1:51820', { lookup })).resolves.toBe('192.0.2.1:51820');
    expect(names).toEqual(['gw.test']);
    await expect(resolveEndpoint('none.test:51820', { lookup })).rejects.toThrow('resolves to no address a peer can have');
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    await expect(resolveEndpoint('gone.test:1', { lookup: () => Promise.reject(notFound) })).rejects.toThrow('the name gone.test does not resolve');
    const never = () => new Promise<string[]>(() => undefined);
    await expect(resolveEndpoint('slow.test:1', { lookup: never, timeoutMs: 20 })).rejects.toThrow('did not resolve within 20 ms');
  });
});

describe('interface names', () => {
  it('refuses names a command line would read as an option', () => {
    expect(interfaceNameProblem('--version')).toMatch(/starts with "-"/);
    expect(interfaceNameProblem('-f')).toMatch(/starts with "-"/);
  });
  it('refuses names Linux refuses', () => {
    expect(interfaceNameProblem('wg-this-is-too-long')).toMatch(/longer than 15 bytes/);
    expect(interfaceNameProblem('wg/a')).toMatch(/may only contain/);
    expect(interfaceNameProblem('wg a')).toMatch(/may only contain/);
    expect(interfaceNameProblem('wg:a')).toMatch(/may only contain/);
    expect(interfaceNameProblem('')).toMatch(/empty/);
    expect(interfaceNameProblem('wg-a.10')).toBeUndefined();
  });
});

describe('key scrubbing', () => {
  it('removes whole and cut WireGuard keys from tool output', () => {
    const key = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
    expect(scrubKeys(`Key is not the correct length or format: \`${key}'`)).toBe("Key is not the correct length or format: `(redacted)'");
    expect(scrubKeys(`bad: ${key.slice(1, 43)}`)).toBe('bad: (redacted)');
    expect(scrubKeys('/etc/wireguard/wg-a.key: No such file')).toBe('/etc/wireguard/wg-a.key: No such file');
  });
});

describe('secrets', () => {
  it('scrubs a key wg could not read, even a short piece of one', () => {
    expect(scrubKeys("Key is not the correct length or format: `yAnz5TF+lXX'")).toBe("Key is not the correct length or format: `(redacted)'");
  });
  it('knows which text holds a private key (and that a public key line does not)', () => {
    expect(holdsPrivateKey('[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n')).toBe(true);
    expect(holdsPrivateKey('yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n')).toBe(true);
    expect(holdsPrivateKey('[Peer]\nPublicKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n')).toBe(false);
  });
});
