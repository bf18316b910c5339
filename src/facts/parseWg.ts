// Parser for `wg show all dump` (tab-separated), as the fact script prints it: with the
// private and preshared keys already replaced by "(set)"/"(none)" on the host.
//
//   interface: ifname  private-key  public-key  listen-port  fwmark
//   peer:      ifname  public-key  preshared-key  endpoint  allowed-ips  latest-handshake  rx  tx  keepalive
//
// Second guard: the private-key and preshared-key columns are never read beyond "is it
// (none)?", so even a dump with real keys yields facts without them. Lines of any other
// shape are ignored (never echoed into an error either).

import type { WgInterfaceFact, WgPeerFact } from './types.js';

const none = (value: string) => value === '(none)' || value === '';
const count = (value: string) => (/^\d+$/.test(value) ? Number(value) : 0);

export function parseWgDump(text: string): Record<string, WgInterfaceFact> {
  // A Map, then Object.fromEntries: an interface may be called "__proto__".
  const interfaces = new Map<string, WgInterfaceFact>();
  const get = (name: string): WgInterfaceFact => {
    let iface = interfaces.get(name);
    if (!iface) interfaces.set(name, (iface = { name, listenPort: 0, peers: [] }));
    return iface;
  };

  for (const line of text.split('\n')) {
    const fields = line.replace(/\r$/, '').split('\t');
    if (fields.length === 5) {
      // fields[1] is the private key: deliberately unused.
      const [name, , publicKey, listenPort, fwmark] = fields;
      const iface = get(name);
      if (!none(publicKey)) iface.publicKey = publicKey;
      else delete iface.publicKey;
      iface.listenPort = count(listenPort);
      if (fwmark !== 'off' && !none(fwmark)) iface.fwmark = fwmark;
    } else if (fields.length === 9) {
      const [name, publicKey, presharedKey, endpoint, allowedIps, handshake, rx, tx, keepalive] = fields;
      const peer: WgPeerFact = {
        publicKey,
        hasPresharedKey: !none(presharedKey),
        allowedIps: none(allowedIps) ? [] : allowedIps.split(',').map((ip) => ip.trim()).filter(Boolean),
        latestHandshake: count(handshake),
        rxBytes: count(rx),
        txBytes: count(tx),
      };
      if (!none(endpoint)) peer.endpoint = endpoint;
      if (keepalive !== 'off' && /^\d+$/.test(keepalive)) peer.persistentKeepalive = Number(keepalive);
      get(name).peers.push(peer);
    }
  }
  return Object.fromEntries(interfaces);
}
