#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest script (tests/vm/run-lane --script tests/bench/run-block-bench.sh LANE):
# 4 KiB random reads on null_blk with fio (O_DIRECT, one synchronous I/O at
# a time, pinned to CPU 0) in three configurations measured side by side,
# interleaved in rounds (the order rotates every round) so that drift hits
# them all alike:
#   not loaded   watch_queue.ko not loaded
#   no watches   loaded, no device watch (the block hook is not registered)
#   armed        wq_devwatch (on CPU 1) holds a global device watch and
#                drains its queue: the block hook is registered
#                (block_rq_error; block_rq_complete on 5.10)
# Two figures per run: IOPS, and the 10th percentile of the completion
# latency.  Time the emulator's CPUs lose to other work on a busy host
# slows some I/Os and so moves IOPS by tens of percent from one run to the
# next, while the fast I/Os keep their time: the low latency percentile is
# the steady per-I/O cost, shown as the IOPS it amounts to (1 s / p10).
# Prints per configuration the interquartile mean over the rounds of both
# (the mean of the middle half: robust, and finer than fio's latency
# buckets), their spread and ratios to "not loaded", then the target
# "armed >= 0.98 of not loaded" as PASS/MISS for each figure; the same goes to
# $WQ_OUT/block-bench.txt.  A figure printer, not a test: a MISS does not
# fail the run, an error does.  One warm-up run is not counted.
#
# Environment: WQ_MODDIR, WQ_BIN, WQ_OUT (set by run-lane); when run by
# hand, BLOCK_BENCH_ROUNDS (11) and BLOCK_BENCH_SECONDS (3 per
# measurement, after 1 s of ramp).
set -u

BENCH_NAME=run-block-bench
# shellcheck source=tests/bench/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
bench_cleanup() { stop_helper; }

: "${WQ_MODDIR:?WQ_MODDIR is not set}"
: "${WQ_OUT:?WQ_OUT is not set}"
WQ_BIN=${WQ_BIN:-${WQ_SRC:-.}/build/meson}
readonly helper=$WQ_BIN/tests/bench/wq_devwatch
readonly ko=$WQ_MODDIR/watch_queue.ko
readonly rounds=${BLOCK_BENCH_ROUNDS:-11}
readonly seconds=${BLOCK_BENCH_SECONDS:-3}
readonly report=$WQ_OUT/block-bench.txt
readonly hooks=/sys/module/watch_queue/parameters/block_hooks
readonly disk=/dev/nullb0
readonly configs=(unloaded idle armed)
declare -A label=([unloaded]="not loaded" [idle]="no watches" [armed]="armed")
declare -A iops=() fast=()
helper_pid=''

stop_helper() {
	[ -n "$helper_pid" ] || return 0
	kill -TERM "$helper_pid" 2>/dev/null
	wait "$helper_pid" 2>/dev/null
	helper_pid=''
}

# Puts the machine in configuration $1.
enter() {
	stop_helper
	case $1 in
	unloaded)
		if loaded watch_queue; then rmmod watch_queue || die "rmmod watch_queue failed"; fi ;;
	idle | armed)
		if ! loaded watch_queue; then insmod "$ko" || die "insmod $ko failed"; fi ;;
	esac
	if [ "$1" = armed ]; then
		coproc HELPER { exec taskset -c 1 "$helper"; }
		# shellcheck disable=SC2153 # set by coproc
		helper_pid=$HELPER_PID
		local line=''
		read -r -t 20 line <&"${HELPER[0]}" || true
		[ "$line" = ready ] || die "wq_devwatch did not start"
		grep -qxE 'armed \+block_rq_(error|complete)' "$hooks" || die "block hook not armed: $(cat "$hooks")"
	elif loaded watch_queue; then
		# The last watch of the previous round is released by a work item.
		local _
		for _ in $(seq 50); do
			grep -qxE 'disarmed block_rq_(error|complete)' "$hooks" && break
			sleep 0.1
		done
		grep -qxE 'disarmed block_rq_(error|complete)' "$hooks" || die "block hook still armed: $(cat "$hooks")"
	fi
}

# One fio run: "IOPS p10-IOPS" (1e9 / the 10th percentile of the
# completion latency in ns).
measure() {
	local json
	json=$(fio --name=randread --filename="$disk" --direct=1 --rw=randread --bs=4k \
		--ioengine=psync --iodepth=1 --cpus_allowed=0 --time_based \
		--ramp_time=1 --runtime="$seconds" --output-format=json 2>/dev/null) ||
		die "fio failed"
	python3 -c 'import json, sys
r = json.load(sys.stdin)["jobs"][0]["read"]
print(round(r["iops"]), round(1e9 / r["clat_ns"]["percentile"]["10.000000"]))' \
		<<<"$json" || die "cannot parse fio's output"
}

# Percentile $1 (0-100, nearest rank) of the numbers on stdin.
pct() { tr ' ' '\n' | sort -n | awk -v p="$1" '{ v[NR] = $1 }
	END { r = int(NR * p / 100 + 0.999999); if (r < 1) r = 1; print v[r] }'; }
# Interquartile mean of the numbers on stdin (the middle half's mean).
iqm() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 }
	END { k = int(NR / 4); for (i = k + 1; i <= NR - k; i++) { s += v[i]; n++ }
	printf "%d", s / n + 0.5 }'; }

command -v fio >/dev/null || die "fio is not installed (tests/install-deps)"
[ -x "$helper" ] || die "$helper not built"
loaded watch_queue && { rmmod watch_queue || die "watch_queue is in use"; }
modprobe null_blk nr_devices=1 || die "modprobe null_blk failed"
for _ in $(seq 50); do [ -b "$disk" ] && break; sleep 0.1; done
[ -b "$disk" ] || die "$disk did not appear"

{
	echo "block error hook cost: fio 4k randread (psync, depth 1) on null_blk, kernel $(uname -r), $(nproc) CPUs"
	echo "rounds $rounds x ${seconds}s per configuration, interleaved; figures: IOPS/IOPS at p10 latency"
} | tee "$report"
measure >/dev/null || exit 1 # warm-up

for ((r = 0; r < rounds; r++)); do
	line="round $((r + 1)):"
	for ((k = 0; k < ${#configs[@]}; k++)); do
		c=${configs[(r + k) % ${#configs[@]}]}
		enter "$c"
		v=$(measure) || exit 1
		stop_helper
		iops[$c]="${iops[$c]:-} ${v% *}"
		fast[$c]="${fast[$c]:-} ${v#* }"
		line+=" ${label[$c]}=${v% *}/${v#* }"
	done
	echo "$line" | tee -a "$report"
done
loaded watch_queue && rmmod watch_queue

verdict() { # label figure base
	if awk -v a="$2" -v b="$3" 'BEGIN { exit !(a >= 0.98 * b) }'; then
		echo "PASS armed >= 0.98 of not loaded by $1 ($2 vs $3, ratio $(ratio "$2" "$3" 4))"
	else
		echo "MISS armed >= 0.98 of not loaded by $1 ($2 vs $3, ratio $(ratio "$2" "$3" 4))"
	fi
}

base=$(iqm <<<"${iops[unloaded]# }")
basef=$(iqm <<<"${fast[unloaded]# }")
{
	echo "interquartile means over the rounds (min..max); ratio to not loaded"
	printf '%-11s %24s %6s %24s %6s\n' configuration "IOPS" ratio "IOPS at p10 latency" ratio
	for c in "${configs[@]}"; do
		m=$(iqm <<<"${iops[$c]# }")
		f=$(iqm <<<"${fast[$c]# }")
		printf '%-11s %24s %6s %24s %6s\n' "${label[$c]}" \
			"$m ($(pct 0 <<<"${iops[$c]# }")..$(pct 100 <<<"${iops[$c]# }"))" "$(ratio "$m" "$base")" \
			"$f ($(pct 0 <<<"${fast[$c]# }")..$(pct 100 <<<"${fast[$c]# }"))" "$(ratio "$f" "$basef")"
	done
	verdict "IOPS at p10 latency" "$(iqm <<<"${fast[armed]# }")" "$basef"
	verdict "IOPS" "$(iqm <<<"${iops[armed]# }")" "$base"
} | tee -a "$report"
