#!/usr/bin/env bash
# Whether this machine can run the limited-downlink suite (e2e/adaptive-quality.test.ts) and
# `npm run bench -- --only adaptive`: root, iproute2's ip and tc, a namespace and a veth pair,
# the htb/bfifo/cls_bpf shaper; and where the added delay comes from (netem, else python3).
set -euo pipefail
fail() { echo "limited-downlink tests cannot run: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "they need root (network namespaces and tc)"
command -v ip >/dev/null && command -v tc >/dev/null || fail "ip and tc are missing (apt-get install iproute2)"
ns="onair-check-$$"
veth="oachk$$"
veth="${veth:0:13}h"
cleanup() { ip netns delete "$ns" 2>/dev/null || true; ip link delete "$veth" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns" || fail "ip netns add failed"
ip link add "$veth" type veth peer name "${veth%h}n" || fail "veth pairs are not available"
ip link set "${veth%h}n" netns "$ns"
tc qdisc add dev "$veth" root handle 1: htb default 10 || fail "the kernel has no htb qdisc"
tc class add dev "$veth" parent 1: classid 1:10 htb rate 600kbit || fail "htb classes do not work"
tc qdisc add dev "$veth" parent 1:10 handle 10: bfifo limit 15000 || fail "the kernel has no bfifo"
tc filter add dev "$veth" parent 1: protocol all prio 1 handle 1 bpf bytecode '1,6 0 0 0' ||
  fail "the kernel has no cls_bpf (needed for random loss)"
tc qdisc del dev "$veth" root
if tc qdisc add dev "$veth" root netem delay 1ms 2>/dev/null; then
  echo "limited-downlink tests can run, with added delay (netem)"
else
  if command -v python3 >/dev/null; then
    echo "limited-downlink tests can run, with added delay (no netem: e2e/support/link-delay.py)"
  else
    echo "limited-downlink tests can run; no netem and no python3, so limits get no added delay"
  fi
fi
