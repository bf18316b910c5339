import { connectionOf } from '../inventory/connection.js';
import type { ConnectionSettings, InventoryHost } from '../inventory/types.js';
import { LocalTransport } from './local.js';
import { SshTransport, type SshOptions } from './ssh.js';
import type { Transport } from './types.js';

export type OpenTransportOptions = SshOptions;

/**
 * Opens the transport an inventory host's connection variables ask for: an SSH
 * connection (host key verified, authenticated) or local bash. Throws TransportError
 * (or WgplayError for bad connection variables).
 */
export async function openTransport(
  target: InventoryHost | ConnectionSettings,
  options: OpenTransportOptions = {},
): Promise<Transport> {
  const settings = 'vars' in target ? connectionOf(target) : target;
  if (settings.kind === 'local') {
    return new LocalTransport(settings, { commandTimeoutMs: options.commandTimeoutMs });
  }
  return SshTransport.connect(settings, options);
}

export { TransportError } from './types.js';
export type { Transport } from './types.js';
export type { SshOptions } from './ssh.js';
export { LocalTransport } from './local.js';
export { remoteCommand } from './common.js';
export {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  hostsFieldMatches,
  keyTypeOf,
  knownHostLine,
  knownHostName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  readKnownHosts,
} from './knownHosts.js';
