// What an Ansible-style YAML inventory holds once loaded (see load.ts).

export interface InventoryHost {
  /** The name the inventory gives the host (Ansible's inventory_hostname). */
  name: string;
  /** Variables after Ansible's precedence: all < parent group < child group < host. */
  vars: Record<string, unknown>;
  /**
   * Every group the host belongs to, directly or through child groups, in precedence
   * order (lowest first): "all" first, then by depth, ansible_group_priority, name.
   */
  groups: string[];
  /** Where the host is (first) written: "inventory.yaml:12:7". */
  origin: string;
  /**
   * Where each of `vars` is written: the definition that won the merge (so a host's
   * own value, not the group value it overrides); problems found in a value are
   * reported where it is written. Absent on hosts built by hand.
   */
  varOrigins?: Map<string, ValuePosition>;
}

/**
 * Where a value is written in the inventory and, for a list or a mapping, where each
 * of its parts is: items by index, fields by name (with the position of their key).
 */
export interface ValuePosition {
  /** "inventory.yaml:31:19": where the value starts (a quoted string: its quote). */
  where: string;
  items?: ValuePosition[];
  fields?: Map<string, { keyWhere: string; value: ValuePosition }>;
}

export interface InventoryGroup {
  name: string;
  /** Hosts written directly under the group, in order. */
  hosts: string[];
  /** Child group names, in order. */
  children: string[];
  /** The group's own vars (not merged). */
  vars: Record<string, unknown>;
  /** Where each of the group's own vars is written. */
  varOrigins: Map<string, ValuePosition>;
  /** 0 for "all", then 1 + the deepest parent (Ansible's group depth). */
  depth: number;
  origin: string;
}

export interface Inventory {
  /** The path the inventory was loaded from, as given. */
  path: string;
  /** Hosts in the order the inventory first names them. */
  hosts: Map<string, InventoryHost>;
  /** Every group, including the implicit "all" and "ungrouped". */
  groups: Map<string, InventoryGroup>;
}

export type HostKeyPolicy = 'strict' | 'accept-new';

/** One ProxyJump hop: an SSH server the connection goes through, checked like any host. */
export interface JumpHost {
  /** As written ("jump@bastion:2222"). */
  spec: string;
  address: string;
  port: number;
  user: string;
  /** The hop's key (its ssh_config IdentityFile); undefined: the target host's key, or ssh-agent. */
  privateKeyFile?: string;
  knownHostsFile: string;
  hostKeyPolicy: HostKeyPolicy;
}

/** How to reach one host, from its merged vars (see connection.ts). */
export interface ConnectionSettings {
  /** Inventory name of the host, for messages. */
  host: string;
  /** ansible_connection. */
  kind: 'ssh' | 'local';
  /** ansible_host, or the inventory name. */
  address: string;
  /** ansible_port, 22 by default. */
  port: number;
  /** ansible_user, or the user running wgplay. */
  user: string;
  /** ansible_ssh_private_key_file with "~" expanded, absolute. Undefined: ssh-agent. */
  privateKeyFile?: string;
  /** ansible_become: run scripts through `sudo -n` when `user` is not root. */
  become: boolean;
  /** ansible_become_user: only root is supported. */
  becomeUser: 'root';
  /** wgplay_known_hosts_file with "~" expanded, absolute; ~/.ssh/known_hosts by default. */
  knownHostsFile: string;
  /** wgplay_host_key_policy, "strict" by default. */
  hostKeyPolicy: HostKeyPolicy;
  /** ProxyJump hops, first to last (from ansible_ssh_common_args/extra_args or ssh_config). */
  jumpHosts?: JumpHost[];
}
