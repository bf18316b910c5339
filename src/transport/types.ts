import { WgplayError } from '../errors.js';

export interface RunOptions {
  /** Kill the command after this long (ms). Default: the transport's (10 min); 0 = never. */
  timeoutMs?: number;
  /** What the script does, for errors: "facts", "apply", "verify". */
  label?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status; -1 when the script was killed by a signal (see `signal`). */
  code: number;
  /** The signal that ended the script ("KILL", "TERM"...), when one did. */
  signal?: string;
}

/** A way to run bash scripts on one host: one connection, reused for every run. */
export interface Transport {
  /** Inventory name of the host. */
  readonly host: string;
  /**
   * Runs `script` with `bash -s` (through `sudo -n` when become is set and the user is
   * not root) in ONE command: one round trip. A non-zero exit is a result, not an
   * error; TransportError is thrown when the script could not run or finish.
   */
  run(script: string, options?: RunOptions): Promise<RunResult>;
  /** Commands sent so far. */
  readonly roundTrips: number;
  close(): Promise<void>;
}

/**
 * unreachable: no connection (refused, no route, DNS, handshake timeout, lost)
 * auth:        the host refused our credentials (or sudo -n wants a password)
 * hostkey:     the host's key is unknown, changed or revoked
 * timeout:     a command did not finish in time (its channel was killed)
 * command:     a command could not be started or ended without a status
 */
export type TransportErrorKind = 'unreachable' | 'auth' | 'hostkey' | 'timeout' | 'command';

/** A failure to reach a host or run a command on it. Never holds secrets. */
export class TransportError extends WgplayError {
  readonly kind: TransportErrorKind;
  readonly host: string;

  constructor(kind: TransportErrorKind, host: string, message: string) {
    super([{ where: `host ${host}`, message }]);
    this.name = 'TransportError';
    this.kind = kind;
    this.host = host;
  }
}
