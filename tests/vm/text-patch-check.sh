#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest script: checks that the emulator keeps kernel text patching
# coherent across vCPUs, without watch_queue.ko. The kernel's own
# kprobe_events (return probes on the key functions the module hooks) are
# enabled and disabled 150 times while two tasks run key syscalls.
#
#   tests/vm/run-lane --no-modules --script tests/vm/text-patch-check.sh 6.12
#
# Passes with the harness's default "-accel tcg,thread=single"; with
# WQ_ACCEL=tcg (multi-threaded TCG) the stock kernel dies of a stray int3
# or a jump to 0 within seconds (see tests/vm/README.md).
set -u
T=/sys/kernel/tracing
mountpoint -q "$T" || mount -t tracefs nodev "$T" || exit 1
keyctl new_session >/dev/null || exit 1
ring=$(keyctl newring patchcheck @s) || exit 1
key=$(keyctl add user patchcheck x "$ring") || exit 1
for f in key_update __key_link key_unlink lookup_user_key \
	__key_create_or_update find_key_to_update; do
	echo "r:r_$f $f" >>"$T/kprobe_events" || echo "cannot probe $f"
done
(while :; do keyctl update "$key" y >/dev/null; done) &
updater=$!
(while :; do
	c=$(keyctl add user "c$RANDOM" c "$ring") && keyctl unlink "$c" "$ring" >/dev/null
done) &
linker=$!
status=0
for i in $(seq 150); do
	echo 1 >"$T/events/kprobes/enable"
	sleep 0.01
	echo 0 >"$T/events/kprobes/enable"
	if dmesg | grep -qE 'BUG:|Oops'; then
		echo "kernel report after $i cycles"
		status=1
		break
	fi
done
kill "$updater" "$linker"
wait
echo >"$T/kprobe_events"
[ "$status" -eq 0 ] && echo "150 enable/disable cycles, no kernel report"
exit "$status"
