#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest script for a kernel with fprobes (Debian's 6.12 and later): what
# following __key_link with an fprobe rather than a kretprobe costs, per
# key operation, side by side in one boot.
#   WQ_ICOUNT=0 tests/vm/run-lane --script tests/bench/run-hook-kind-bench.sh 6.12
# Under WQ_ICOUNT=0 the guest clock counts instructions (tests/vm/README.md).
#
# parity_bench (see parity_bench.cpp) measures keyctl update, link and
# unlink per operation, interleaved in rounds (the order rotates every
# round) in these configurations:
#   base          nobody watches, watch_queue.ko not loaded
#   armed, kret   a queue watches another key; loaded with hooks_fprobe=0:
#                 __key_link has its kretprobe
#   armed, fprobe the same with __key_link's fprobe (the default)
#   queue, kret   a queue watches the key and the keyring, kretprobe
#   queue, fprobe the same, fprobe
# Prints the median of the rounds (each the 10th percentile of a run's
# batches) and ratios to the base; the same goes to
# $WQ_OUT/hook-kind-bench.txt.  A figure printer, not a test: an error
# fails the run (a kernel without fprobes too), no figure does.
#
# Environment: WQ_MODDIR, WQ_BIN, WQ_OUT (set by run-lane); optional
# HOOK_BENCH_ROUNDS (5), HOOK_BENCH_OPS (8192 of each operation).
set -u

BENCH_NAME=run-hook-kind-bench
# shellcheck source=tests/bench/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

: "${WQ_MODDIR:?WQ_MODDIR is not set}"
: "${WQ_OUT:?WQ_OUT is not set}"
WQ_BIN=${WQ_BIN:-${WQ_SRC:-.}/build/meson}
readonly bench=$WQ_BIN/tests/bench/parity_bench
readonly ko=$WQ_MODDIR/watch_queue.ko
readonly rounds=${HOOK_BENCH_ROUNDS:-5}
readonly ops=${HOOK_BENCH_OPS:-8192}
readonly report=$WQ_OUT/hook-kind-bench.txt
readonly hooks=/sys/module/watch_queue/parameters/key_hooks
readonly op_names=(update link unlink)
readonly configs=(base armed_k armed_f queue_k queue_f)
declare -A label=([base]="nobody watches (base)" [armed_k]="armed, kretprobe"
	[armed_f]="armed, fprobe" [queue_k]="1 queue, kretprobe" [queue_f]="1 queue, fprobe")
declare -A options=([base]="--watch none" [armed_k]="--watch device --other"
	[armed_f]="--watch device --other" [queue_k]="--watch device" [queue_f]="--watch device")
# How __key_link must show in the hooks line after a run of the config
declare -A link_hook=([armed_k]="+__key_link:" [armed_f]="+__key_link@fprobe:"
	[queue_k]="+__key_link:" [queue_f]="+__key_link@fprobe:")
declare -A figures=()

measure() { # config
	local c=$1 line name state
	unload
	case $c in
	base) ;;
	*_k) load hooks_fprobe=0 ;;
	*_f) load hooks_fprobe=1 ;;
	esac
	# shellcheck disable=SC2086 # options is a word list
	line=$("$bench" ${options[$c]} --ops "$ops") || die "parity_bench failed (${label[$c]})"
	if [[ $c != base ]]; then
		state=$(<"$hooks")
		[[ $state == *"${link_hook[$c]}"* ]] ||
			die "${label[$c]}: __key_link is not placed as expected: $state"
	fi
	for name in "${op_names[@]}"; do
		figures[$c:$name]+="$(field "$line" "${name}_p10") "
	done
	echo "  ${label[$c]}: update $(field "$line" update_p10)" \
		"link $(field "$line" link_p10) unlink $(field "$line" unlink_p10)"
}

[[ -x $bench ]] || die "$bench is missing (build with meson first)"
[[ -f $ko ]] || die "$ko is missing"
mkdir -p "$WQ_OUT"
{
	echo "hook kind bench: __key_link through a kretprobe and an fprobe, kernel $(uname -r)"
	echo "$ops operations of each kind per measurement in batches of 32, $rounds rounds, CPU 0;"
	echo "figures: median of the rounds of each run's 10th percentile of batches, ns"
	echo "(instructions under WQ_ICOUNT=0)"
} | tee "$report"

run_rounds
unload

declare -A med=()
for key in "${!figures[@]}"; do
	# shellcheck disable=SC2086 # the figures are word lists
	med[$key]=$(median ${figures[$key]})
done
{
	echo
	echo "per operation; ratio to the base"
	printf '%-24s %8s %6s %8s %6s %8s %6s\n' configuration update ratio link ratio unlink ratio
	for c in "${configs[@]}"; do
		printf '%-24s' "${label[$c]}"
		for op in "${op_names[@]}"; do
			printf ' %8s %6s' "${med[$c:$op]}" "$(ratio "${med[$c:$op]}" "${med[base:$op]}")"
		done
		echo
	done
	echo "per round (p10):"
	for c in "${configs[@]}"; do
		for name in "${op_names[@]}"; do
			printf '  %-24s %-7s %s\n' "${label[$c]}" "$name" "${figures[$c:$name]}"
		done
	done
} | tee -a "$report"
