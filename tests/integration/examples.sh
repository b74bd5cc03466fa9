#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The library's example programs end to end, as root in a guest with
# watch_queue.ko loaded: example-keys prints the session keyring's changes
# (a key linked and unlinked),
# example-devices a medium error read from a scsi_debug disk,
# example-fsync-drain a durable append on a healthy filesystem (the failing
# cases of its pattern are in the fs suite).
#
# Usage: WQ_EXAMPLES=<dir with the examples> examples.sh
# Prints TAP (check-lib.sh): a line per check, then the plan; exits 1 if any
# failed.
set -u
: "${WQ_EXAMPLES:?WQ_EXAMPLES is not set}"

# shellcheck source=tests/integration/check-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

# Waits up to 10 s for an extended regex in a file.
wait_for_line() { # file regex
	local i
	for i in $(seq 100); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

cleanup() {
	# shellcheck disable=SC2046 # a word per pid
	kill $(jobs -p) 2>/dev/null
	modprobe -r scsi_debug 2>/dev/null
	rm -rf "$work"
}

work=$(mktemp -d)
on_exit cleanup

# The example may not watch yet when it has just started (a slow kernel
# takes a while to load the program): a key linked and unlinked again until
# the example shows both records for one key, for at most 10 s.
check_keys() {
	local out=$work/keys.log ring key pid i
	ring=$(keyctl id @s)
	"$WQ_EXAMPLES/example-keys" >"$out" 2>&1 &
	pid=$!
	for i in $(seq 20); do
		sleep 0.5
		key=$(keyctl add user "wq-example-$i" one @s)
		keyctl unlink "$key" @s >/dev/null
		grep -qx "$ring link $key" "$out" && wait_for_line "$out" "^$ring unlk $key\$" && break
	done
	if grep -qx "$ring link $key" "$out" && grep -qx "$ring unlk $key" "$out"; then
		pass example-keys
	else
		fail example-keys "expected '$ring link $key' and '$ring unlk $key', got: $(tr '\n' '|' <"$out")"
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null
}

check_devices() {
	local out=$work/devices.log disk pid
	modprobe sd_mod
	modprobe scsi_debug dev_size_mb=8 opts=2 medium_error_start=2048 medium_error_count=8 ||
		{ fail example-devices "cannot load scsi_debug"; return; }
	for _ in $(seq 50); do
		disk=$(ls /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block 2>/dev/null | head -n 1)
		[[ -n $disk && -b /dev/$disk ]] && break
		sleep 0.1
	done
	"$WQ_EXAMPLES/example-devices" >"$out" 2>&1 &
	pid=$!
	# Read the bad sector until the example (once it watches) reports it.
	for _ in $(seq 20); do
		sleep 0.5
		dd if="/dev/$disk" of=/dev/null bs=512 skip=2048 count=1 iflag=direct 2>/dev/null
		grep -qE "^block [0-9]+:[0-9]+ medium sector 2048 " "$out" && break
	done
	if grep -qE "^block [0-9]+:[0-9]+ medium sector 2048 " "$out"; then
		pass example-devices
	else
		fail example-devices "no block record for sector 2048 of /dev/$disk, got: $(tr '\n' '|' <"$out")"
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null
}

# A healthy filesystem: the watch is added, fsync succeeds and the queue
# holds no error for it, so the example says "durable" and exits 0.
check_fsync_drain() {
	local out=$work/fsync.log file=$work/journal rc
	"$WQ_EXAMPLES/example-fsync-drain" "$file" >"$out" 2>&1
	rc=$?
	if ((rc == 0)) && grep -qx "$file: durable" "$out" &&
		grep -qx "one committed transaction" "$file"; then
		pass example-fsync-drain
	else
		fail example-fsync-drain "exit $rc, got: $(tr '\n' '|' <"$out")"
	fi
}

if [[ ${WQ_EXAMPLES_IN_SESSION:-} != 1 ]]; then
	export WQ_EXAMPLES_IN_SESSION=1
	exec keyctl session - "$0" "$@"
fi
check_keys
check_devices
check_fsync_drain
((failures == 0))
