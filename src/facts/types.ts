// What wgplay knows about one host, as read from the kernel's own tools in ONE
// remote command (see factScript.ts). Plans are pure functions of these facts.
//
// Secrets never enter this structure: the fact script strips WireGuard private and
// preshared keys on the host, and files marked secret are reported without content.

export interface LinkFact {
  name: string;
  /** `ip -j -d link` linkinfo.info_kind: "wireguard", "tun" (wireguard-go), "veth"... */
  kind?: string;
  up: boolean;
  mtu?: number;
  /** The interface's alias (`ip link set ... alias`): wgplay names the TUNs it makes for wireguard-go. */
  alias?: string;
}

export interface AddressFact {
  dev: string;
  family: 'inet' | 'inet6';
  /** Address without prefix length. */
  local: string;
  prefixlen: number;
}

export interface RuleFact {
  family: 'inet' | 'inet6';
  priority: number;
  /** "10.200.200.1" or "10.200.200.0/24"; undefined means "all". */
  from?: string;
  to?: string;
  /**
   * Table name or number as a string: "main", "local", "41". "" when the rule does not
   * look up a table (see `action`).
   */
  table: string;
  /** `not` rules (ip rule add not ...). */
  not?: boolean;
  /** "0xca6c", or "0xca6c/0xff" with a mask. */
  fwmark?: string;
  iif?: string;
  oif?: string;
  /** For rules that do not look up a table: "unreachable", "blackhole", "prohibit", "goto 32766". */
  action?: string;
  /**
   * Any other selector ip printed ("suppress_prefixlen 0", "ipproto 6"...), sorted. A rule
   * with such extras is not the plain from/to/table rule its other fields describe.
   */
  other?: string[];
}

export interface RouteFact {
  family: 'inet' | 'inet6';
  /** "10.100.100.1", "10.0.0.0/24" or "default". */
  dst: string;
  dev?: string;
  gateway?: string;
  /** "main", "local", "41"... (ip -j omits the table for main; the parser fills it in). */
  table: string;
  protocol?: string;
  scope?: string;
  type?: string;
  /** Route metric as ip prints it (IPv6 routes always have one: 256, 1024...). */
  metric?: number;
  prefsrc?: string;
}

export interface NftElementFact {
  /** Canonical text of the key: "wg-a", "51821", "10.0.0.1". */
  key: string;
  /** For maps: canonical text of the value. */
  value?: string;
}

export interface NftSetFact {
  kind: 'set' | 'map';
  name: string;
  /** nft type name(s), e.g. "ifname", "ipv4_addr", "inet_service"; concatenations joined by " . ". */
  keyType: string;
  valueType?: string;
  flags: string[];
  elements: NftElementFact[];
}

export interface NftChainFact {
  name: string;
  type?: string;
  hook?: string;
  priority?: number;
  policy?: string;
  /** Rules as nft prints them (`nft list ruleset`), whitespace-normalized. */
  rules: string[];
  /**
   * The kernel's handle of each rule, parallel to `rules` (for `delete rule ... handle N`
   * and `insert/replace rule ... handle N`). Absent when nft's listing had none.
   */
  handles?: number[];
}

export interface NftTableFact {
  family: string;
  name: string;
  chains: NftChainFact[];
  sets: NftSetFact[];
}

export interface WgPeerFact {
  publicKey: string;
  hasPresharedKey: boolean;
  endpoint?: string;
  allowedIps: string[];
  /** Unix seconds; 0 = never. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive?: number;
}

export interface WgInterfaceFact {
  name: string;
  /** Derived public key of the live interface's private key; undefined when none is set. */
  publicKey?: string;
  listenPort: number;
  fwmark?: string;
  peers: WgPeerFact[];
}

export interface FileFact {
  path: string;
  exists: boolean;
  /** What the path is (symlinks followed): "file", "directory" or "other". */
  type?: 'file' | 'directory' | 'other';
  /** Octal permission bits, 4 digits: "0600". */
  mode?: string;
  owner?: string;
  group?: string;
  size?: number;
  sha256?: string;
  /** UTF-8 content; absent for secret files and files over the size limit. */
  content?: string;
  /** For WireGuard key files (request.wgKey): `wg pubkey` of the content. */
  wgPublicKey?: string;
  /** For request.wgInterface: whether the live interface's private key is this file's. */
  wgKeyMatchesInterface?: boolean;
  /** When the path is a symbolic link: where it points (as `readlink` prints it). */
  linkTarget?: string;
  /** The file holds a WireGuard private or preshared key: its content was not sent. */
  holdsKey?: boolean;
}

/** The boot file of an nftables table wgplay persists (see nftBoot.ts), checked against the live table on the host. */
export interface NftBootFileFact {
  path: string;
  exists: boolean;
  /** The table exists in the live ruleset. */
  live: boolean;
  /** The file holds exactly what dumping the live table now would write. */
  matchesLive: boolean;
  /** When they differ: the file's content and what it would be, for the diff. */
  content?: string;
  liveContent?: string;
}

/** wgplay's own SSH connection as the host saw it (`SSH_CONNECTION`), addresses canonical. */
export interface SshConnectionFact {
  /** The address wgplay connects from (the controller, or the last NAT/bastion hop). */
  clientAddress: string;
  clientPort: number;
  /** The host's address the connection arrived at. */
  serverAddress: string;
  /** The port sshd accepted it on. */
  serverPort: number;
  /** The interface replies to the controller leave by (`ip route get`): where SSH arrives. */
  interface?: string;
}

/** What limits how many wireguard-go daemons can start: each holds one inotify instance. */
export interface InotifyFact {
  /** The kernel has WireGuard (its module is loaded or built in): interfaces need no daemon. */
  kernelWireguard: boolean;
  /**
   * inotify instances the fact script's user holds now, over every process of the machine.
   * Not counted (undefined) when every interface of FactRequest.inotify.ifMissing existed
   * and was in the WireGuard dump.
   */
  instancesInUse?: number;
}

export interface HostFacts {
  links: LinkFact[];
  addresses: AddressFact[];
  rules: RuleFact[];
  routes: RouteFact[];
  nftTables: NftTableFact[];
  /** Per "family name": what nft made of the text a task wants (FactRequest.nftCanonical). */
  nftCanonical?: Record<string, NftCanonicalFact>;
  wg: Record<string, WgInterfaceFact>;
  files: Record<string, FileFact>;
  /** Requested sysctl keys; null when the key does not exist on the host. */
  sysctls: Record<string, string | null>;
  /** Which helper programs exist on the host. */
  programs: Record<string, boolean>;
  /** Absent when the script did not run under sshd (a local run) or sshd did not say. */
  sshConnection?: SshConnectionFact;
  /** Asked for by request.inotify (the check before wireguard-go daemons start). */
  inotify?: InotifyFact;
  /** `uname -r`, `id -u` etc. for error messages and become decisions. */
  /** Boot files of persisted nftables tables, by "family name" (requested in FactRequest.nftBootFiles). */
  nftBootFiles: Record<string, NftBootFileFact>;
  /** `clock`: the host's time (Unix seconds) when the facts were read, for handshake ages. */
  system: { kernel: string; uid: number; hostname: string; clock: number };
  /**
   * Commands that ran but failed (e.g. "nft -j list ruleset exited with status 1"): the
   * matching lists are empty because they could not be read, not because the host has
   * nothing. Absent programs are not warnings (see `programs`).
   */
  warnings?: string[];
}

export interface FileRequest {
  path: string;
  /** Never read the content (only existence, mode, owner, hash). */
  secret?: boolean;
  /** Only whether it exists, its type, mode, owner and link target are needed: no content is sent. */
  statOnly?: boolean;
  /** The file holds a WireGuard private key: also report its public key (a process per file). Implies secret. */
  wgKey?: boolean;
  /**
   * The file holds the private key of this WireGuard interface: report whether the live
   * interface uses it (compared on the host; the key is never printed). Implies secret.
   */
  wgInterface?: string;
  /** The content the task wants: when the file already has it, its content is not sent. */
  expectSha256?: string;
  /** Content larger than this (bytes) is not sent (default FILE_CONTENT_LIMIT, 256 KiB). */
  contentLimit?: number;
}

/** What a task needs to know beyond the facts every run gathers (links, rules, nft...). */
export interface FactRequest {
  files?: FileRequest[];
  sysctls?: string[];
  /**
   * nftables tables the task reads. Every table is gathered anyway; this says which
   * ones a saved plan depends on (its fingerprint covers these, not e.g. a fail2ban
   * table whose elements change by the minute).
   */
  nftTables?: { family: string; name: string }[];
  /**
   * Report HostFacts.inotify; with `ifMissing`, count the instances in use only when one
   * of these interfaces does not exist or has no daemon (counting walks every process's
   * descriptors).
   */
  inotify?: true | { ifMissing: string[] };
  /** nftables tables whose boot file (nftBoot.ts) is compared with the live table. */
  nftBootFiles?: { family: string; name: string }[];
  /** Tables as a task wants them (nft text), read back through nft on the host: HostFacts.nftCanonical. */
  nftCanonical?: { family: string; name: string; text: string }[];
}

/**
 * What nft made of a table's text on the host (see nft_canonical in factScript.ts):
 * `scratch` when it was loaded in a scratch network namespace and listed back (`rules`
 * per chain, in the kernel's spelling), `check` when only `nft -c` could run.
 */
export interface NftCanonicalFact {
  mode: 'scratch' | 'check';
  /** nft's error output when it refused the text. */
  error?: string;
  /** Chain name -> its rules as the kernel lists them (scratch mode, no error). */
  rules?: Record<string, string[]>;
}
