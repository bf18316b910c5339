#!/usr/bin/env bash
# The seed article end to end on this machine (as root): builds the lab (Hosts A, B, C
# and a router in network namespaces), applies playbooks/gateway.yaml to Host C over
# SSH, configures customers A and B from `wgplay customer-config`, then proves with
# real traffic that two customers with the same address (10.0.0.1) are told apart.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

wgplay() { node bin/wgplay.js "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
PLAYBOOK=playbooks/gateway.yaml
INVENTORY=playbooks/lab.inventory.yaml

say "lab: a fresh copy of the seed's network"
wgplay lab down >/dev/null
wgplay lab up

say "plan: what wgplay would change on Host C (exit 2 = changes pending)"
set +e; wgplay plan "$PLAYBOOK" -i "$INVENTORY" | tail -n 8; code=${PIPESTATUS[0]}; set -e
echo "plan exited $code"

say "apply"
started=$(date +%s%N)
wgplay apply "$PLAYBOOK" -i "$INVENTORY"
echo "full apply took $(( ($(date +%s%N) - started) / 1000000 )) ms"

say "customers: each gets its config from wgplay customer-config"
for customer in a b; do
  wgplay customer-config "$customer" "$PLAYBOOK" -i "$INVENTORY" > "/run/wgplay-lab/customer-$customer.conf"
  sed -n '1,20p' "/run/wgplay-lab/customer-$customer.conf" | sed 's/^/    /'
  wgplay lab connect "$customer" "/run/wgplay-lab/customer-$customer.conf"
done

say "inbound: customers (both 10.0.0.1) call the gateway's service at 10.0.0.2:8080"
a=$(wgplay lab exec a -- curl -sS --max-time 10 http://10.0.0.2:8080/)
b=$(wgplay lab exec b -- curl -sS --max-time 10 http://10.0.0.2:8080/)
echo "  from host A: $a"; echo "  from host B: $b"

say "outbound: the gateway calls each customer's server through its translated address"
ca=$(wgplay lab exec c -- curl -sS --max-time 10 http://10.100.100.1/)
cb=$(wgplay lab exec c -- curl -sS --max-time 10 http://10.100.100.2/)
echo "  10.100.100.1: $ca"; echo "  10.100.100.2: $cb"

say "idempotence: a second apply"
wgplay apply "$PLAYBOOK" -i "$INVENTORY" | tail -n 2

proved=0
[[ "$a" == *"you are 10.100.100.1" ]] && [[ "$b" == *"you are 10.100.100.2" ]] && proved=$((proved + 1))
[[ "$ca" == "hello from host-a; you are 10.0.0.2" ]] && [[ "$cb" == "hello from host-b; you are 10.0.0.2" ]] && proved=$((proved + 1))
say "result"
if [ "$proved" -eq 2 ]; then
  echo "PROVED: two customers with the same address 10.0.0.1 reach the gateway as 10.100.100.1 and"
  echo "10.100.100.2, and the gateway reaches each of them through 10.100.100.1 / .2, appearing to"
  echo "both as the 10.0.0.2 they chose. The lab stays up: 'wgplay lab status', 'wgplay lab down'."
else
  echo "NOT PROVED: see the answers above" >&2
  exit 1
fi
