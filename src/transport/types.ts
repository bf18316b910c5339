import { WgplayError } from '../errors.js';

export interface RunOptions {
  /** Kill the command after this long (ms). Default: the transport's (10 min); 0 = never. */
  timeoutMs?: number;
  /** What the script does, for errors: "facts", "apply", "verify". */
  label?: string;
  /**
   * Fail with a 'stalled' TransportError when the script prints nothing for this long
   * (ms). For scripts that print a sign of life regularly (the apply script does): a
   * connection whose packets stopped arriving is seen in seconds, not minutes.
   */
  idleTimeoutMs?: number;
}

/** A command that runs until its standard input is closed (the host lock holds one). */
export interface HeldCommand {
  /** Called with each chunk of its standard output. */
  onOutput(listener: (text: string) => void): void;
  /** Writes to its standard input. */
  write(text: string): void;
  /** Closes its standard input; `done` settles when it has exited. */
  end(): void;
  /** Its result once it has exited; rejects with TransportError when the connection is lost. */
  readonly done: Promise<RunResult>;
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
  /**
   * Starts `script` with `bash -c` (as root, as run does) and leaves it running, its
   * standard input open, until end(). It holds one channel meanwhile.
   */
  start(script: string, options?: { label?: string }): Promise<HeldCommand>;
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
 * stalled:     a command that prints signs of life went silent (see RunOptions.idleTimeoutMs)
 */
type TransportErrorKind = 'unreachable' | 'auth' | 'hostkey' | 'timeout' | 'command' | 'stalled';

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
