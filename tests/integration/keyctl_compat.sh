#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Debian's unmodified keyctl(1) notification commands (watch, watch_session,
# watch_add, watch_rm, watch_sync, supports notify) under
# LD_PRELOAD=libwatchqueue-compat.so, with watch_queue.ko loaded: their
# output must be what they print on a kernel with CONFIG_KEY_NOTIFICATIONS.
#
# Usage: WQ_COMPAT_LIB=/path/to/libwatchqueue-compat.so keyctl_compat.sh
# Environment: WQ_KEYCTL_WAIT  seconds to wait for each expected line (30)
#
# Prints TAP (check-lib.sh): a line per check, then the plan; exits 1 if any
# failed. Runs in a new anonymous session keyring, so @s is its own.
set -u

readonly WAIT=${WQ_KEYCTL_WAIT:-30}
readonly DEVICE=/dev/watch_queue
readonly PERM_ALL=0x3f3f0000 # possessor and user: all permissions
readonly SESSION_MARK=WQ_KEYCTL_COMPAT_IN_SESSION

kernel_notify=0 # the kernel itself has key notifications (the library then passes through)

# shellcheck source=tests/integration/check-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

# keyctl with the compat library preloaded.
ckeyctl() {
	LD_PRELOAD=$WQ_COMPAT_LIB keyctl "$@"
}

# wait_for_line FILE LINE: true once FILE has LINE as a whole line.
wait_for_line() {
	local deadline=$((SECONDS + WAIT))
	while ((SECONDS <= deadline)); do
		grep -qxF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# expect_line CHECK FILE LINE
expect_line() {
	if wait_for_line "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "no line '$3' in ${2##*/} within ${WAIT}s (has: $(tr '\n' '|' <"$2"))"
	fi
}

# expect_exit CHECK PID LOG: the background keyctl ended by itself, status 0.
expect_exit() {
	if ! wait_exit "$2"; then
		fail "$1" "still running ${WAIT}s after its watched key was destroyed"
	elif ((exit_status != 0)); then
		fail "$1" "exit status $exit_status ($(tr '\n' '|' <"$3"))"
	else
		pass "$1"
	fi
}

# start_watch LOG ARGS...: keyctl watch ARGS in the background, pid in
# $watch_pid. It ends by itself when its key is destroyed; the timeout only
# bounds a run that goes wrong.
watch_pid=
start_watch() {
	local log=$1
	shift
	timeout "$((8 * WAIT))" env LD_PRELOAD="$WQ_COMPAT_LIB" keyctl watch "$@" >"$log" 2>&1 &
	watch_pid=$!
	bg_pids+=("$watch_pid")
}

# sync_watch CHECK LOG LINE CMD...: repeat CMD until the watcher logs LINE,
# i.e. until its watch is in place (events before that are not seen).
sync_watch() {
	local check=$1 log=$2 line=$3 deadline=$((SECONDS + WAIT))
	shift 3
	while ((SECONDS <= deadline)); do
		"$@" >/dev/null || { fail "$check" "'$*' failed"; return 1; }
		if grep -qxF -- "$line" "$log"; then
			pass "$check"
			return 0
		fi
		kill -0 "$watch_pid" 2>/dev/null || break
		sleep 0.2
	done
	fail "$check" "watcher never logged '$line' ($(tr '\n' '|' <"$log"))"
	return 1
}

# ----------------------------------------------------------------- checks

check_preconditions() {
	[[ -n ${WQ_COMPAT_LIB:-} ]] ||
		fatal setup "WQ_COMPAT_LIB is not set (path of libwatchqueue-compat.so)"
	[[ -r $WQ_COMPAT_LIB ]] || fatal setup "WQ_COMPAT_LIB=$WQ_COMPAT_LIB is not readable"
	command -v keyctl >/dev/null || fatal setup "keyctl (package keyutils) not found"
	local out
	out=$(LD_PRELOAD=$WQ_COMPAT_LIB /bin/true 2>&1) ||
		fatal setup "the dynamic loader refuses $WQ_COMPAT_LIB: $out"
	[[ -z $out ]] || fatal setup "preloading $WQ_COMPAT_LIB prints: $out"
	pass setup
}

# What the library changes: without it, keyctl watch fails on a kernel
# without notification pipes.
check_baseline() {
	local out
	if keyctl supports notify; then
		kernel_notify=1
		pass "baseline (the kernel itself has key notifications)"
		return
	fi
	out=$(timeout "$WAIT" keyctl watch @s 2>&1)
	if (($? == 1)) && [[ $out == pipe2:* ]]; then
		pass "baseline (without the library: $out)"
	else
		fail baseline "keyctl watch without the library: expected a pipe2 error, got: $out"
	fi
}

check_device() {
	if [[ ! -e $DEVICE ]] && ((kernel_notify)); then
		pass "device (none; the kernel's own notification pipes are checked instead)"
		return
	fi
	[[ -c $DEVICE ]] ||
		fatal device "$DEVICE is missing: load watch_queue.ko (this test needs the module)"
	[[ -r $DEVICE && -w $DEVICE ]] || fatal device "$DEVICE is not readable and writable"
	pass device
}

check_supports() {
	local out
	if ckeyctl supports notify; then
		pass "supports notify"
	else
		fail "supports notify" "exit status $? (expected 0)"
	fi
	out=$(ckeyctl supports)
	if grep -qxF have_notify=1 <<<"$out"; then
		pass "supports lists have_notify=1"
	else
		fail "supports lists have_notify=1" "$(tr '\n' ' ' <<<"$out")"
	fi
}

# keyctl watch on a keyring: link, unlk, clr, then gc ends it.
check_watch_keyring() {
	local log=$work/watch-ring.log ring a b
	ring=$(keyctl newring wq-compat-ring @s) || { fail watch_ring "keyctl newring failed"; return; }
	start_watch "$log" "$ring"
	sync_watch "watch ring: attr" "$log" "$ring attr" keyctl setperm "$ring" "$PERM_ALL" ||
		return

	a=$(keyctl add user wq-a one "$ring")
	expect_line "watch ring: link" "$log" "$ring link $a"
	keyctl unlink "$a" "$ring" >/dev/null
	expect_line "watch ring: unlk" "$log" "$ring unlk $a"
	b=$(keyctl add user wq-b two "$ring")
	expect_line "watch ring: link (2nd)" "$log" "$ring link $b"
	keyctl clear "$ring"
	expect_line "watch ring: clr" "$log" "$ring clr"
	keyctl unlink "$ring" @s >/dev/null
	expect_line "watch ring: gc" "$log" "$ring gc"
	expect_exit "watch ring: exits when the ring is gone" "$watch_pid" "$log"
}

# keyctl watch on a user key: upd, attr, rev, then gc ends it.
check_watch_key() {
	local log=$work/watch-key.log key n=0
	key=$(keyctl add user wq-key v0 @s) || { fail watch_key "keyctl add failed"; return; }
	start_watch "$log" "$key"
	sync_watch "watch key: upd" "$log" "$key upd" \
		keyctl update "$key" "v$((++n))" || return

	keyctl setperm "$key" "$PERM_ALL"
	expect_line "watch key: attr" "$log" "$key attr"
	keyctl revoke "$key"
	expect_line "watch key: rev" "$log" "$key rev"
	keyctl unlink "$key" @s >/dev/null
	expect_line "watch key: gc" "$log" "$key gc"
	expect_exit "watch key: exits when the key is gone" "$watch_pid" "$log"
}

# (Re)links KEY into RING: a LINKED record each time.
relink() {
	keyctl unlink "$1" "$2" >/dev/null 2>&1
	keyctl link "$1" "$2"
}

# keyctl watch -fl: only links; unlinks and attribute changes are filtered,
# removal (gc) never is.
check_watch_filter() {
	local log=$work/watch-filter.log ring a
	ring=$(keyctl newring wq-compat-filter @s) || { fail watch_filter "keyctl newring failed"; return; }
	a=$(keyctl add user wq-fa x @s)
	start_watch "$log" -fl "$ring"
	sync_watch "watch -fl: link" "$log" "$ring link $a" relink "$a" "$ring" || return

	keyctl unlink "$a" "$ring" >/dev/null
	keyctl setperm "$ring" "$PERM_ALL"
	keyctl unlink "$ring" @s >/dev/null
	expect_line "watch -fl: gc" "$log" "$ring gc"
	expect_exit "watch -fl: exits when the ring is gone" "$watch_pid" "$log"
	if grep -q -e ' unlk ' -e ' attr$' "$log"; then
		fail "watch -fl: filtered" "unlk/attr records got through: $(tr '\n' '|' <"$log")"
	else
		pass "watch -fl: filtered"
	fi
}

# The program watch_session runs, with the queue on fd 5: watch_add,
# watch_sync, watch_rm, and an unlink in the new session keyring. Writes
# its checks, "ok <check>" or "not ok <check>: <reason>" (numbered by
# check_watch_session), and the ids to $1.
session_program() {
	local dir=$1 fd=${KEYCTL_WATCH_FD:-} key out
	[[ $fd == 5 ]] || { echo "not ok watch_session: KEYCTL_WATCH_FD='$fd', expected 5"; return 1; }
	keyctl id @s >"$dir/session.id"
	key=$(keyctl add user wq-session-key v1 @s) || { echo "not ok watch_session: keyctl add"; return 1; }
	echo "$key" >"$dir/key.id"
	if keyctl watch_add "$fd" "$key"; then
		echo "ok watch_add"
	else
		echo "not ok watch_add: exit status $?"
	fi
	keyctl update "$key" v2
	if timeout "$WAIT" keyctl watch_sync "$fd"; then
		echo "ok watch_sync"
	else
		echo "not ok watch_sync: exit status $? (124: did not return within ${WAIT}s)"
	fi
	if keyctl watch_rm "$fd" "$key"; then
		echo "ok watch_rm"
	else
		echo "not ok watch_rm: exit status $?"
	fi
	if out=$(keyctl watch_rm "$fd" "$key" 2>&1); then
		echo "not ok watch_rm of a removed watch fails with EBADSLT: it succeeded"
	elif [[ $out == *"Invalid slot"* ]]; then
		echo "ok watch_rm of a removed watch fails with EBADSLT"
	else
		echo "not ok watch_rm of a removed watch fails with EBADSLT: got: $out"
	fi
	keyctl unlink "$key" @s >/dev/null
	timeout "$WAIT" keyctl watch_sync "$fd" || echo "not ok watch_sync (2nd): exit status $?"
	return 0
}

check_watch_session() {
	local nlog=$work/session-notify.log glog=$work/session-gc.log
	local results=$work/session-results status session key
	export -f session_program
	export WAIT
	# shellcheck disable=SC2016 # $1 is the inner bash's
	timeout "$((4 * WAIT))" env LD_PRELOAD="$WQ_COMPAT_LIB" keyctl watch_session \
		"$nlog" "$glog" 5 bash -c 'session_program "$1" >"$1/session-results"' \
		session "$work" 2>"$work/session.err"
	status=$?
	if ((status == 0)); then
		pass "watch_session exit status"
	else
		fail "watch_session exit status" "$status ($(tr '\n' '|' <"$work/session.err"))"
	fi
	if [[ -s $results ]]; then
		local line check
		while IFS= read -r line; do
			case $line in
			"ok "*) pass "${line#ok }" ;;
			"not ok "*)
				check=${line#not ok }
				fail "${check%%: *}" "${check#*: }"
				;;
			*) echo "# $line" ;;
			esac
		done <"$results"
	else
		fail watch_session "the program under watch_session reported nothing"
	fi

	session=$(cat "$work/session.id" 2>/dev/null)
	key=$(cat "$work/key.id" 2>/dev/null)
	if [[ -z $session || -z $key ]]; then
		fail watch_session "no session/key ids from the program"
		return
	fi
	if grep -qxF "Joined session keyring: $session" "$work/session.err"; then
		pass "watch_session joined a new session keyring"
	else
		fail "watch_session joined a new session keyring" "$(tr '\n' '|' <"$work/session.err")"
	fi
	expect_line "watch_session: link" "$nlog" "$session link $key"
	expect_line "watch_session: upd (watch_add)" "$nlog" "$key upd"
	expect_line "watch_session: unlk" "$nlog" "$session unlk $key"
	expect_line "watch_session: gc (watch_rm)" "$glog" "$key gc"
	expect_line "watch_session: consumer stopped" "$nlog" "Monitoring terminated"
}

# Without the module (a /dev without the node) the library passes the
# kernel's ENOPKG through and says once on stderr how to fix it.
check_missing_module_hint() {
	local hint="watch_queue: /dev/watch_queue is missing; load the module: modprobe watch_queue"
	local out rc n
	if keyctl supports notify >/dev/null 2>&1; then
		pass "module-missing hint (not applicable: the kernel has notification pipes)"
		return
	fi
	out=$(unshare -m sh -c 'mount -t tmpfs none /dev && LD_PRELOAD=$0 exec keyctl watch @s' \
		"$WQ_COMPAT_LIB" 2>&1)
	rc=$?
	n=$(grep -cxF -- "$hint" <<<"$out")
	if ((rc == 1 && n == 1)) && grep -q '^pipe2: ' <<<"$out"; then
		pass "module-missing hint"
	else
		fail "module-missing hint" "exit $rc, hint lines $n: $(tr '\n' '|' <<<"$out")"
	fi
}

main() {
	if [[ ${!SESSION_MARK:-} != 1 ]]; then
		check_preconditions
		check_baseline
		check_device
		# Again inside a new anonymous session keyring, numbering on.
		export "$SESSION_MARK=1" WQ_COMPAT_LIB WQ_CHECKS_DONE=$checks
		exec keyctl session - bash "${BASH_SOURCE[0]}" "$@"
	fi

	work=$(mktemp -d "${TMPDIR:-/tmp}/keyctl_compat.XXXXXX") || fatal setup "mktemp failed"

	check_supports
	check_watch_keyring
	check_watch_key
	check_watch_filter
	check_watch_session
	check_missing_module_hint

	if ((failures)); then
		fail keyctl_compat "$failures check(s) failed"
		exit 1
	fi
	pass keyctl_compat
}

main "$@"
