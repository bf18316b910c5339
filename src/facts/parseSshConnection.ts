import { parseAddress } from '../net/index.js';
import type { SshConnectionFact } from './types.js';

/**
 * An address as one canonical string (src/net): "10.100.100.1" for
 * "::ffff:10.100.100.1" (sshd listening on ::); the zone of a link-local address dropped.
 */
function canonicalAddress(text: string): string | undefined {
  const parsed = parseAddress(text.split('%')[0]!);
  if (!parsed.ok) return undefined;
  return parsed.value.range === 'ipv4Mapped' ? parsed.value.text.slice('::ffff:'.length) : parsed.value.text;
}

/**
 * The ssh-connection section: `SSH_CONNECTION` ("client port server port"), then the
 * `ip -j route get` of the way back to the client. Undefined when there is none.
 */
export function parseSshConnection(lines: string[]): SshConnectionFact | undefined {
  const [connection, route] = lines;
  const [client, clientPort, server, serverPort] = (connection ?? '').trim().split(/\s+/);
  const clientAddress = canonicalAddress(client ?? '');
  const serverAddress = canonicalAddress(server ?? '');
  if (!clientAddress || !serverAddress || !/^\d+$/.test(clientPort ?? '') || !/^\d+$/.test(serverPort ?? '')) return undefined;
  let dev: string | undefined;
  try {
    const parsed = JSON.parse(route ?? '[]') as { dev?: unknown }[];
    if (typeof parsed[0]?.dev === 'string') dev = parsed[0].dev;
  } catch {
    dev = undefined; // no route back: the interface stays unknown
  }
  return { clientAddress, clientPort: Number(clientPort), serverAddress, serverPort: Number(serverPort), ...(dev && { interface: dev }) };
}
