#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# wqmon --journal against the real systemd-journald, as root in a guest
# with watch_queue.ko loaded (the host's root, so journald, journalctl,
# dmsetup, mkfs.ext4 and filefrag are there): a scsi_debug medium error and
# an ext4 write-back error become journal entries with their MESSAGE_ID,
# PRIORITY and WQ_* fields (journalctl -o json); then the module is
# reloaded under the running wqmon (SIGHUP, --wait-device), which logs the
# gap and sees events again.
#
# Usage: WQMON=... WQ_MODDIR=... [WQ_TESTMODDIR=...] fleet-journal.sh
# Prints TAP (check-lib.sh): a line per check, then the plan; exits 1 if any
# failed.
set -u

readonly WAIT=${WQ_FLEET_WAIT:-30}
readonly MEDIUM_SECTOR=4660 # scsi_debug's default medium error address
readonly ID_MEDIUM=82fc170d870743f48e4956f8b3880733
readonly ID_WB=7ea7926e9aac41a4b6596cbd8ffc7340
readonly ID_GAP=496c7befa78c49948f40f0fe3225149c
readonly ID_START=973d29809ea748d3b603891ada58a0ac

# shellcheck source=tests/integration/check-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

journald_pid='' disk='' loop='' dm='' mnt='' mon_pid='' wq_test_loaded=0 sectors=0

# The guest has no udev: dmsetup makes no cookies and waits for none.
dmsetup_() { DM_DISABLE_UDEV=1 dmsetup --noudevsync --noudevrules "$@" >/dev/null; }

cleanup() {
	[[ -n $mon_pid ]] && kill "$mon_pid" 2>/dev/null && wait "$mon_pid" 2>/dev/null
	[[ -n $mnt ]] && umount "$mnt" 2>/dev/null
	[[ -n $dm ]] && dmsetup_ remove wqfleet 2>/dev/null
	[[ -n $loop ]] && losetup -d "$loop" 2>/dev/null
	local i
	for ((i = 0; i < 50; i++)); do
		modprobe -r scsi_debug 2>/dev/null && break
		sleep 0.2
	done
	[[ -n $journald_pid ]] && kill "$journald_pid" 2>/dev/null
	check_cleanup
}

# wait_until SECS command...: true once the command succeeds.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# The journal's entries with MESSAGE_ID $1 (and more matches), as JSON lines.
entries() { journalctl -q --no-pager -o json "MESSAGE_ID=$1" "${@:2}" 2>/dev/null; }
count_entries() { entries "$@" | grep -c .; }
has_entries() { (($(count_entries "$@") >= ${N:-1})); }

# field JSON NAME: one field of a journal entry (journalctl -o json)
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }

# check_field CHECK JSON NAME WANT
check_field() {
	local got
	got=$(field "$2" "$3")
	if [[ $got == "$4" ]]; then pass "$1 $3=$4"; else fail "$1 $3" "'$got', expected '$4'"; fi
}

start_journald() {
	local bin=/lib/systemd/systemd-journald
	[[ -x $bin ]] || bin=/usr/lib/systemd/systemd-journald
	[[ -x $bin ]] || fatal journald "systemd-journald not found"
	mkdir -p /run/systemd/journal /run/log/journal
	# runtime journal only: nothing of the guest outlives it
	mkdir -p /run/systemd/journald.conf.d
	printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' >/run/systemd/journald.conf.d/wq.conf
	"$bin" >"$work/journald.log" 2>&1 &
	journald_pid=$!
	if wait_until 20 test -S /run/systemd/journal/socket; then
		pass journald-started
	else
		fatal journald-started "no /run/systemd/journal/socket ($(show "$work/journald.log"))"
	fi
}

setup_disk() {
	modprobe sd_mod 2>/dev/null
	modprobe scsi_debug dev_size_mb=16 opts=2 medium_error_start=$MEDIUM_SECTOR \
		medium_error_count=8 || fatal scsi_debug "modprobe scsi_debug failed"
	find_disk() {
		local d
		for d in /sys/block/sd*; do
			[[ -e $d/device/model && $(<"$d/device/model") == *scsi_debug* ]] || continue
			[[ -b /dev/${d##*/} ]] || continue
			disk=/dev/${d##*/}
			return 0
		done
		return 1
	}
	wait_until 20 find_disk || fatal scsi_debug "no scsi_debug disk appeared"
}

# ext4 on loop under a dm table whose data extent of one file can be made
# to fail (dm's error target), as tests/integration/fs.cc does.
setup_ext4() {
	modprobe -q loop
	modprobe -q dm_mod
	truncate -s 32M "$work/ext4.img"
	loop=$(losetup -f --show "$work/ext4.img") || fatal ext4 "losetup failed"
	sectors=$(blockdev --getsz "$loop")
	dmsetup_ create wqfleet --table "0 $sectors linear $loop 0" ||
		fatal ext4 "dmsetup create failed"
	local d
	for d in /sys/block/dm-*; do
		[[ $(<"$d/dm/name") == wqfleet ]] && dm=/dev/${d##*/}
	done
	[[ -b $dm ]] || fatal ext4 "no device node for the dm device"
	# nodiscard: 5.10 warns (WARN_ON in __blkdev_issue_discard) when
	# mkfs discards through dm-linear on a loop device whose discard
	# granularity is 0; the test needs no discard.
	mkfs.ext4 -q -F -b 4096 -m 0 -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$dm" ||
		fatal ext4 "mkfs.ext4 failed"
	mnt=$work/mnt
	mkdir -p "$mnt"
	mount -t ext4 "$dm" "$mnt" || fatal ext4 "mount failed"
	head -c 65536 /dev/zero >"$mnt/data"
	sync
}

# From now on writes to the data of $mnt/data fail.
fail_data() {
	local first len
	# "0: 0.. 127: 34816.. 34943: 128: last,eof" in 512-byte units
	read -r first len < <(filefrag -v -b512 "$mnt/data" |
		awk -F'[:.]+ *' '$1 ~ /^ *0$/ { print $4, $6 }')
	[[ -n $first && -n $len ]] || return 1
	dmsetup_ load wqfleet --table "0 $first linear $loop 0
$first $len error
$((first + len)) $((sectors - first - len)) linear $loop $((first + len))" &&
		dmsetup_ suspend --nolockfs --noflush wqfleet && dmsetup_ resume wqfleet
}

start_wqmon() {
	"$WQMON" --journal --wait-device --devices --fs "$mnt" >"$work/wqmon.out" 2>"$work/wqmon.err" &
	mon_pid=$!
	bg_pids+=("$mon_pid")
	if wait_until "$WAIT" grep -q '^wqmon: watching ' "$work/wqmon.err"; then
		pass wqmon-started
	else
		fatal wqmon-started "no banner ($(show "$work/wqmon.err"))"
	fi
	if wait_until "$WAIT" has_entries "$ID_START" "_PID=$mon_pid"; then
		pass journal-start-entry
	else
		fail journal-start-entry "no entry with MESSAGE_ID=$ID_START from pid $mon_pid"
	fi
	[[ ! -s $work/wqmon.out ]] && pass journal-not-stdout ||
		fail journal-not-stdout "records on stdout: $(show "$work/wqmon.out")"
}

medium_error() {
	! dd if="$disk" of=/dev/null bs=512 skip=$MEDIUM_SECTOR count=1 iflag=direct 2>/dev/null
}

check_medium_error() {
	medium_error || fail medium-error "the read of sector $MEDIUM_SECTOR of $disk succeeded"
	if ! wait_until "$WAIT" has_entries "$ID_MEDIUM" "_PID=$mon_pid"; then
		fail medium-entry "no entry with MESSAGE_ID=$ID_MEDIUM ($(show "$work/wqmon.err"))"
		return
	fi
	pass medium-entry
	local e
	e=$(entries "$ID_MEDIUM" "_PID=$mon_pid" | head -n 1)
	echo "$e" >"$work/medium.json"
	check_field medium "$e" PRIORITY 3
	check_field medium "$e" WQ_TYPE block
	check_field medium "$e" WQ_SUBTYPE medium
	check_field medium "$e" WQ_SECTOR "$MEDIUM_SECTOR"
	check_field medium "$e" WQ_DEV_MAJOR "$((0x$(stat -c %t "$disk")))"
	check_field medium "$e" WQ_DEV_MINOR "$((0x$(stat -c %T "$disk")))"
	check_field medium "$e" WQ_DEVNODE "$disk"
	check_field medium "$e" WQ_WATCHED devices
	check_field medium "$e" SYSLOG_IDENTIFIER wqmon
	local m
	m=$(field "$e" MESSAGE)
	[[ $m == "medium error on $disk "*" at sector $MEDIUM_SECTOR" ]] && pass medium-message ||
		fail medium-message "'$m'"
}

check_writeback_error() {
	local ino dev rc=0
	ino=$(stat -c %i "$mnt/data")
	dev=$(stat -c %d "$mnt/data")
	fail_data || {
		fail writeback-error "cannot fail the file's extent"
		return
	}
	# dirty the pages and write them back: fsync reports EIO
	dd if=/dev/urandom of="$mnt/data" bs=4096 count=16 conv=notrunc,fsync 2>/dev/null || rc=$?
	((rc != 0)) && pass "writeback-error (fsync failed)" ||
		fail writeback-error "the write-back succeeded"
	if ! wait_until "$WAIT" has_entries "$ID_WB" "_PID=$mon_pid"; then
		fail writeback-entry "no entry with MESSAGE_ID=$ID_WB"
		return
	fi
	pass writeback-entry
	local e
	e=$(entries "$ID_WB" "_PID=$mon_pid" | head -n 1)
	check_field writeback "$e" PRIORITY 3
	check_field writeback "$e" WQ_TYPE fs
	check_field writeback "$e" WQ_SUBTYPE wb-error
	check_field writeback "$e" WQ_ERRNO 5
	check_field writeback "$e" WQ_ERRNO_NAME EIO
	check_field writeback "$e" ERRNO 5
	check_field writeback "$e" WQ_INO "$ino"
	check_field writeback "$e" WQ_DEV_MAJOR "$((dev >> 8 & 0xfff))"
	check_field writeback "$e" WQ_DEV_MINOR "$(((dev & 0xff) | (dev >> 12 & 0xfff00)))"
	check_field writeback "$e" WQ_WATCHED "$mnt"
}

module_refs() { cat /sys/module/watch_queue/refcnt 2>/dev/null || echo gone; }

# SIGHUP: wqmon lets go of the device; the module is reloaded; wqmon adds its
# watches again, logs the gap and sees the next medium error.
check_reload() {
	local before
	before=$(count_entries "$ID_MEDIUM" "_PID=$mon_pid")
	kill -HUP "$mon_pid"
	if wait_until "$WAIT" grep -q 'released /dev/watch_queue' "$work/wqmon.err"; then
		pass reload-released
	else
		fail reload-released "no 'released' message ($(show "$work/wqmon.err"))"
		return
	fi
	if grep -q '^wq_test ' /proc/modules; then
		wq_test_loaded=1
		rmmod wq_test || fail reload-unload "rmmod wq_test failed"
	fi
	if wait_until "$WAIT" rmmod watch_queue; then
		pass reload-unloaded
	else
		fail reload-unloaded "rmmod watch_queue failed, refcnt $(module_refs)"
		return
	fi
	insmod "$WQ_MODDIR/watch_queue.ko" || fatal reload-loaded "insmod watch_queue.ko failed"
	if ((wq_test_loaded)); then
		insmod "$WQ_TESTMODDIR/wq_test.ko" || fail reload-loaded "insmod wq_test.ko failed"
	fi
	pass reload-loaded
	if wait_until "$WAIT" has_entries "$ID_GAP" "_PID=$mon_pid"; then
		pass reload-gap-entry
	else
		fail reload-gap-entry "no entry with MESSAGE_ID=$ID_GAP ($(show "$work/wqmon.err"))"
	fi
	N=2 wait_until "$WAIT" has_entries "$ID_START" "_PID=$mon_pid" &&
		pass reload-watching-again || fail reload-watching-again "no second start entry"
	kill -0 "$mon_pid" 2>/dev/null && pass reload-survived || fail reload-survived "wqmon exited"
	medium_error
	if N=$((before + 1)) wait_until "$WAIT" has_entries "$ID_MEDIUM" "_PID=$mon_pid"; then
		pass reload-events-again
	else
		fail reload-events-again "no medium error entry after the reload"
	fi
}

check_stop() {
	kill "$mon_pid"
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$mon_pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$mon_pid"
	local rc=$?
	((rc == 0)) && pass "sigterm-exit-0" || fail sigterm-exit-0 "exit $rc"
	mon_pid=
}

[[ -x ${WQMON:-} ]] || fatal setup "WQMON is not set to the wqmon binary"
[[ -f ${WQ_MODDIR:-}/watch_queue.ko ]] || fatal setup "WQ_MODDIR has no watch_queue.ko"
[[ -c /dev/watch_queue ]] || fatal setup "/dev/watch_queue missing: module not loaded"
on_exit cleanup
work=$(mktemp -d)
start_journald
setup_disk
setup_ext4
start_wqmon
check_medium_error
check_writeback_error
check_reload
check_stop
exit $((failures > 0))
