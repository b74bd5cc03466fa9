#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# wqmon end to end, as root in a guest with watch_queue.ko loaded: key
# events in human and JSON output (the fields of wqmon.1's JSON OUTPUT),
# --count, --timeout and its exit status 124, --version, "wqmon:" usage
# errors with exit 2, --iso-time, filters, loss with a tiny ring, exit 0 on
# SIGTERM/SIGINT, and the messages for a missing module and a refused
# device watch.
#
# Usage: WQMON=/path/to/wqmon wqmon.sh
# Environment: WQ_WQMON_WAIT  seconds to wait for each expected output (30)
#
# Prints TAP (check-lib.sh): a line per check, then the plan; exits 1 if any
# failed. Runs in a new anonymous session keyring, so @s is its own.
set -u

readonly WAIT=${WQ_WQMON_WAIT:-30}
readonly SESSION_MARK=WQ_WQMON_IN_SESSION
readonly KEY_LINE='^KEY   \[[0-9]+\.[0-9]{6}\] '

# shellcheck source=tests/integration/check-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

# wait_for FILE ERE [COUNT]: true once FILE has COUNT (1) lines matching ERE.
wait_for() {
	local deadline=$((SECONDS + WAIT)) n
	while ((SECONDS <= deadline)); do
		n=$(grep -cE -- "$2" "$1" 2>/dev/null)
		((${n:-0} >= ${3:-1})) && return 0
		sleep 0.1
	done
	return 1
}

# start LOG ARGS...: wqmon ARGS in the background (pid in $mon_pid), back
# once its banner says the watches are in place.
mon_pid=
start() {
	local log=$1
	shift
	"$WQMON" "$@" >"$log" 2>"$log.err" &
	mon_pid=$!
	bg_pids+=("$mon_pid")
	wait_for "$log.err" '^wqmon: watching ' || {
		fail "start $*" "no banner ($(show "$log.err"))"
		return 1
	}
}

new_key() { # description -> serial of a new user key in @s
	keyctl add user "$1" value @s
}

# ----------------------------------------------------------------- checks

check_preconditions() {
	[[ -x ${WQMON:-} ]] || fatal setup "WQMON is not set to the wqmon binary"
	command -v keyctl >/dev/null || fatal setup "keyctl (package keyutils) not found"
	[[ -c /dev/watch_queue ]] || fatal setup "/dev/watch_queue missing: module not loaded"
	pass setup
}

check_help_and_usage() {
	local out
	out=$("$WQMON" --help 2>&1)
	if [[ $? -eq 0 && $out == *--json* && $out == *--count* ]]; then
		pass help
	else
		fail help "exit or text wrong: $out"
	fi
	if [[ $out == *"-V,--version"* && $out == *"124 when --timeout expires"* ]]; then
		pass help-exit-statuses
	else
		fail help-exit-statuses "no --version or exit status 124 in: $out"
	fi
	local rc err
	for args in "-f xyz @s" "--no-such-option @s" "-n x @s" ""; do
		# shellcheck disable=SC2086 # word splitting wanted
		err=$("$WQMON" $args 2>&1 >/dev/null)
		rc=$?
		if ((rc == 2)) && [[ $err == "wqmon: "* ]]; then
			pass "usage-error-exit-2 ($args)"
		else
			fail "usage-error-exit-2 ($args)" "exit $rc: $err"
		fi
	done
}

check_version() {
	local out rc
	out=$("$WQMON" --version 2>&1)
	rc=$?
	# the version in the tree under test (VERSION, which meson reads)
	local want
	want=$(<"$(dirname "${BASH_SOURCE[0]}")/../../VERSION")
	if ((rc == 0)) && [[ -n $want && $out == "wqmon $want" ]]; then
		pass "version (wqmon $want)"
	else
		fail version "exit $rc, '$out', expected 'wqmon $want'"
	fi
	[[ $("$WQMON" -V 2>&1) == "$out" ]] && pass version-short || fail version-short "-V differs"
}

check_human_keys() {
	local log=$work/human key key2
	# a keyring's watchers see links and unlinks; changes of a key itself
	# go to the key's watchers (as upstream)
	key=$(new_key human)
	start "$log" @s "$key" || return
	key2=$(new_key human2)
	keyctl update "$key" other
	keyctl revoke "$key"
	if wait_for "$log" "$KEY_LINE"'rev      '"$key"'$'; then
		pass human-revoke
	else
		fail human-revoke "no rev line ($(show "$log"))"
	fi
	grep -qE "$KEY_LINE"'link     [0-9]+ '"$key2"'$' "$log" &&
		pass human-link || fail human-link "$(show "$log")"
	grep -qE "$KEY_LINE"'upd      '"$key"'$' "$log" &&
		pass human-update || fail human-update "$(show "$log")"
	kill -TERM "$mon_pid"
	if wait_exit "$mon_pid" && ((exit_status == 0)); then
		pass sigterm-exit-0
	else
		fail sigterm-exit-0 "exit ${exit_status:-none}"
	fi
}

check_json_and_count() {
	local log=$work/json key start_mono_us start_real_us
	key=$(new_key json)
	start_mono_us=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)')
	start_real_us=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_REALTIME) // 1000)')
	start "$log" --json --count 2 @s "$key" || return
	keyctl update "$key" x
	keyctl update "$key" y
	if ! wait_exit "$mon_pid"; then
		fail count-exit "still running after 2 records"
		return
	fi
	((exit_status == 0)) && pass count-exit || fail count-exit "exit $exit_status"
	local n
	n=$(wc -l <"$log")
	((n == 2)) && pass count-lines || fail count-lines "$n lines ($(show "$log"))"
	local boot_id
	boot_id=$(tr -d -- '-\n' </proc/sys/kernel/random/boot_id)
	if python3 - "$log" "$key" "$boot_id" "$start_mono_us" "$start_real_us" <<'PY'; then
import json, sys, time
lines = [json.loads(l) for l in open(sys.argv[1])]
key, boot_id = int(sys.argv[2]), sys.argv[3]
mono0, real0 = int(sys.argv[4]), int(sys.argv[5])
mono1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
real1 = time.clock_gettime_ns(time.CLOCK_REALTIME) // 1000
for l in lines:
    assert set(l) == {"type", "subtype", "key", "aux", "watch", "watched", "time_monotonic_us",
                      "time_realtime_us", "boot_id"}, l
    assert l["type"] == "key" and l["subtype"] == "upd", l
    assert l["key"] == key and l["aux"] == 0 and l["watch"] == 1, l
    assert l["watched"] == str(key), l
    assert l["boot_id"] == boot_id and len(boot_id) == 32, (l, boot_id)
    assert mono0 <= l["time_monotonic_us"] <= mono1, (l, mono0, mono1)
    assert real0 - 2000000 <= l["time_realtime_us"] <= real1 + 2000000, (l, real0, real1)
PY
		pass json-objects
	else
		fail json-objects "$(show "$log")"
	fi
}

check_timeout() {
	local start=$SECONDS rc
	"$WQMON" -q --timeout 1 @s >"$work/timeout" 2>&1
	rc=$?
	if ((rc == 0 && SECONDS - start <= 10)) && [[ ! -s $work/timeout ]]; then
		pass timeout
	else
		fail timeout "exit $rc after $((SECONDS - start))s ($(show "$work/timeout"))"
	fi

	# --count not reached when --timeout expires: 124, the records that came printed
	local key
	key=$(new_key timeout)
	start "$work/timeout-count" -n 2 --timeout 3 "$key" || return
	keyctl update "$key" once
	wait_exit "$mon_pid"
	rc=$exit_status
	if ((rc == 124)) && (($(grep -cE "$KEY_LINE"'upd ' "$work/timeout-count") == 1)); then
		pass timeout-before-count-exit-124
	else
		fail timeout-before-count-exit-124 "exit $rc ($(show "$work/timeout-count"))"
	fi
	# --count reached before --timeout: 0
	start "$work/count-first" -n 1 --timeout 30 "$key" || return
	keyctl update "$key" twice
	wait_exit "$mon_pid"
	rc=$exit_status
	((rc == 0)) && pass count-before-timeout-exit-0 || fail count-before-timeout-exit-0 "exit $rc"
}

# --iso-time: the wall clock in ISO 8601 with the UTC offset
check_iso_time() {
	local log=$work/iso key
	key=$(new_key iso)
	start "$log" --iso-time -n 1 "$key" || return
	keyctl update "$key" x
	wait_exit "$mon_pid"
	local re='^KEY   \[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{2}:[0-9]{2}\] upd      '"$key"'$'
	if ((exit_status == 0)) && grep -qE "$re" "$log"; then
		pass iso-time
	else
		fail iso-time "exit $exit_status ($(show "$log"))"
	fi
}

check_filters() {
	local log=$work/filter key
	key=$(new_key filter)
	start "$log" -f pr @s "$key" || return
	new_key filter2 >/dev/null
	keyctl update "$key" y
	keyctl revoke "$key"
	wait_for "$log" "$KEY_LINE"'rev ' || { fail filter-letters "no rev ($(show "$log"))"; return; }
	if grep -qE 'link|unlk' "$log" || ! grep -qE "$KEY_LINE"'upd ' "$log"; then
		fail filter-letters "$(show "$log")"
	else
		pass filter-letters
	fi
	kill -INT "$mon_pid"
	if wait_exit "$mon_pid" && ((exit_status == 0)); then
		pass sigint-exit-0
	else
		fail sigint-exit-0 "exit ${exit_status:-none}"
	fi

	log=$work/subtype
	key=$(new_key subtype)
	start "$log" -s key:inv --type block @s "$key" || return
	new_key subtype2 >/dev/null
	keyctl update "$key" z
	keyctl invalidate "$key"
	wait_for "$log" "$KEY_LINE"'inv ' || { fail filter-subtype "no inv ($(show "$log"))"; return; }
	# (the invalidated key is then destroyed: a "WATCH gone" line may follow)
	(($(grep -c '^KEY' "$log") == 1)) && pass filter-subtype || fail filter-subtype "$(show "$log")"
	kill "$mon_pid"
	wait_exit "$mon_pid"
}

check_loss() {
	local log=$work/loss key i
	key=$(new_key loss)
	start "$log" --json --ring-bytes 4096 "$key" || return
	kill -STOP "$mon_pid"
	for ((i = 0; i < 400; i++)); do
		keyctl update "$key" "v$i" || { fail loss "update $i failed"; break; }
	done
	kill -CONT "$mon_pid"
	if ! wait_for "$log" '"type":"loss"'; then
		fail loss "no loss object ($(show "$log"))"
		return
	fi
	keyctl update "$key" last # room again: this one arrives, after the loss
	local deadline=$((SECONDS + WAIT)) ok=0
	while ((SECONDS <= deadline)); do
		if python3 - "$log" 2>/dev/null <<'PY'; then
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
lost = sum(r["count"] for r in recs if r["type"] == "loss")
upd = sum(1 for r in recs if r["type"] == "key" and r["subtype"] == "upd")
first_loss = next(i for i, r in enumerate(recs) if r["type"] == "loss")
assert 0 < lost < 400 and upd + lost == 401, (lost, upd)
assert recs[-1]["type"] == "key" and first_loss < len(recs) - 1
PY
			ok=1
			break
		fi
		sleep 0.2
	done
	((ok)) && pass loss || fail loss "updates + lost != 401 ($(grep -c upd "$log") upd: $(grep loss "$log"))"
	kill "$mon_pid"
	wait_exit "$mon_pid"
}

check_module_missing() {
	local out rc
	# a /dev without the device node, as when the module is not loaded
	out=$(unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0" -q --timeout 2 @s' "$WQMON" 2>&1)
	rc=$?
	if keyctl supports notify >/dev/null 2>&1; then
		# The kernel has notification pipes (the debug lane's): wqmon
		# falls back to one and watches @s until the timeout.
		if ((rc == 0)); then
			pass module-missing-pipe-fallback
		else
			fail module-missing-pipe-fallback "exit $rc: $out"
		fi
	elif ((rc == 1)) && [[ $out == *"/dev/watch_queue not found: load the module with \`modprobe watch_queue\`"* ]]; then
		pass module-missing
	else
		fail module-missing "exit $rc: $out"
	fi
}

check_devices() {
	local out rc
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$WQMON" -q --devices --timeout 1 2>&1)
	rc=$?
	if ((rc == 1)) && [[ $out == *CAP_SYS_ADMIN*--block* || $out == *"no device events"* ]]; then
		pass devices-eperm
	else
		fail devices-eperm "exit $rc: $out"
	fi
	out=$("$WQMON" -q --devices --timeout 1 2>&1)
	rc=$?
	if ((rc == 0)) || [[ $out == *"no device events"* ]]; then
		pass devices-root
	else
		fail devices-root "exit $rc: $out"
	fi
}

# --mounts and --fs on a tmpfs of our own: a mount below the directory
# gives a MOUNT "new" line with mountinfo's id for it, a remount read-only
# an FS "readonly" line with the filesystem's major:minor.
check_fs_and_mounts() {
	local dir=$work/mnt log=$work/fsmon id devno
	mkdir -p "$dir" && mount -t tmpfs wqmon-fs "$dir" && mkdir "$dir/sub" ||
		{ fail fs-mounts "cannot mount a tmpfs"; return; }
	if start "$log" --mounts "$dir" --fs "$dir"; then
		mount -t tmpfs wqmon-sub "$dir/sub"
		id=$(awk -v mp="$dir/sub" '$5 == mp { print $1 }' /proc/self/mountinfo)
		if wait_for "$log" "^MOUNT .*new +mount $id parent [0-9]+ below"; then
			pass mounts-new
		else
			fail mounts-new "no line for mount $id ($(show "$log"))"
		fi
		umount "$dir/sub"
		devno=$(stat -c '%Hd:%Ld' "$dir")
		mount -o remount,ro "$dir"
		if wait_for "$log" "^FS .*readonly $devno ro"; then
			pass fs-readonly
		else
			fail fs-readonly "no readonly line for $devno ($(show "$log"))"
		fi
		kill "$mon_pid"
		wait "$mon_pid" 2>/dev/null
	fi
	umount "$dir"
}

# ------------------------------------------------------------------- main

if [[ ${!SESSION_MARK:-} != 1 ]]; then
	export "$SESSION_MARK=1"
	exec keyctl session - "$0" "$@"
fi

work=$(mktemp -d)
check_preconditions
check_help_and_usage
check_version
check_human_keys
check_json_and_count
check_timeout
check_iso_time
check_filters
check_loss
check_module_missing
check_devices
check_fs_and_mounts
((failures == 0))
