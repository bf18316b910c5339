/**
 * Bash helpers that keep wgplay's own link and address changes from killing another
 * customer's wireguard-go daemon (the apply script's prelude, src/engine/compile.ts).
 *
 * Every running wireguard-go listens to the namespace's link and address events on a
 * route-netlink socket (groups 0x111) that it opened itself, so the socket's port id
 * in /proc/net/netlink is the daemon's pid. The kernel queues each event there (a
 * link event takes 2304 bytes of the queue, an address event 832), the queue holds
 * net.core.rmem_default (208 KiB), and a daemon whose queue overflows reads ENOBUFS
 * and exits ("failed to receive netlink message: no buffer space available"), taking
 * its customer's tunnel down. A hundred new customers are about 1.5 MB of events: a
 * daemon that is not scheduled while they are made would die. So the changes go out
 * in chunks of at most a quarter of a queue, each once no daemon holds more than half
 * of its queue unread (so none ever holds more than three quarters).
 *
 * Each daemon also holds a second such socket, never read: the one its starting
 * process opened, inherited across its re-exec (port id: that process's pid, gone).
 * It fills up once and then drops events, harmlessly; it is not waited for (no
 * wireguard-go has its port id, and it shows drops). Neither is a daemon that has
 * not read for WAIT_S (stopped, say): the apply goes on, and a daemon that died of
 * it is named by the verify (its TUN without a daemon) and started by the next apply.
 *
 * - wgplay_netlink_spend BYTES: counts events about to be sent; waits for the daemons
 *   first when the chunk would be over a quarter of a queue.
 * - wgplay_ip_batch: `ip -batch` of the lines on its input, in such chunks (one batch
 *   when no wireguard-go runs here: the kernel's WireGuard, or a first apply).
 * - wgplay_link_del NAME: deletes a link, paced the same way.
 */
const WAIT_S = 10;
/** What one `ip -batch` line costs each listening daemon's queue at most, measured (bytes). */
const LINE_COSTS = {
  create: 2304, // tuntap add, link add: one link event
  link: 6912, // link set mtu, alias, up: three link events; link del of a daemon's TUN
  address: 1024, // one address event (832)
  daemon: 8192, // a new daemon attaching to its TUN (5440), then an MTU of its own
};

// String.raw keeps bash's backslashes; a bash "${" is written "\${" (out of JS interpolation) and unescaped below.
export const NETLINK_PACING = String.raw`wgplay_uapi_dir=/var/run/wireguard
{ read -r wgplay_netlink_room < /proc/sys/net/core/rmem_default; } 2>/dev/null || wgplay_netlink_room=212992
wgplay_netlink_sent=$wgplay_netlink_room
wgplay_netlink_stuck=' '
wgplay_netlink_wait() {
  local i portid comm behind
  for ((i = 0; i < ${WAIT_S * 20}; i++)); do
    behind=' '
    while read -r portid; do
      [[ $wgplay_netlink_stuck != *" $portid "* ]] || continue
      { read -r comm < "/proc/$portid/comm"; } 2>/dev/null || continue
      [ "$comm" != wireguard-go ] || behind+="$portid "
    done < <(awk -v max=$((wgplay_netlink_room / 2)) '$2 == 0 && $5 > max && $9 == 0 { print $3 }' /proc/net/netlink)
    [ "$behind" != ' ' ] || return 0
    sleep 0.05
  done
  wgplay_netlink_stuck+="\${behind# }"
  printf 'wireguard-go (pid%s) has not read its link events for ${WAIT_S} s: going on without it\n' "\${behind% }" >&2
}
wgplay_netlink_spend() {
  if ((wgplay_netlink_sent + $1 > wgplay_netlink_room / 4)); then
    wgplay_netlink_wait
    wgplay_netlink_sent=0
  fi
  wgplay_netlink_sent=$((wgplay_netlink_sent + $1))
}
wgplay_ip_batch() {
  local -a lines chunk=()
  local line cost
  mapfile -t lines
  [ "\${#lines[@]}" -gt 0 ] || return 0
  if ! compgen -G "$wgplay_uapi_dir/*.sock" >/dev/null; then printf '%s\n' "\${lines[@]}" | ip -batch -; return; fi
  for line in "\${lines[@]}"; do
    case $line in
      'tuntap add '* | 'link add '*) cost=${LINE_COSTS.create} ;;
      'link '*) cost=${LINE_COSTS.link} ;;
      'address '* | 'addr '*) cost=${LINE_COSTS.address} ;;
      *) cost=0 ;;
    esac
    if ((cost > 0 && wgplay_netlink_sent + cost > wgplay_netlink_room / 4)); then
      [ "\${#chunk[@]}" -eq 0 ] || printf '%s\n' "\${chunk[@]}" | ip -batch -
      chunk=()
    fi
    ((cost == 0)) || wgplay_netlink_spend "$cost"
    chunk+=("$line")
  done
  [ "\${#chunk[@]}" -eq 0 ] || printf '%s\n' "\${chunk[@]}" | ip -batch -
}
wgplay_link_del() {
  wgplay_netlink_spend ${LINE_COSTS.link}
  ip link del dev "$1"
}`.replaceAll('\\${', '${');

/** The queue a new daemon's start costs each running one (wgplay_wg_up spends it). */
export const DAEMON_START_COST = LINE_COSTS.daemon;
