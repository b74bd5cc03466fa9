#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest script for the reference lane (issue 18): the module beside the
# kernel's own notification queue, in one boot, on the same operations.
#   WQ_ICOUNT=0 tests/vm/run-lane --script tests/bench/run-parity-bench.sh reference
# On a stock lane (a kernel without notification pipes) it measures the
# module's configurations alone, base, armed, queue and 64 queues, so that
# the key hooks' cost per operation can be recorded on every kernel:
#   WQ_ICOUNT=0 tests/vm/run-lane --script tests/bench/run-parity-bench.sh 6.12
# Under WQ_ICOUNT=0 the guest clock counts instructions (tests/vm/README.md),
# so every figure below is instructions.
#
# parity_bench (see parity_bench.cpp) measures keyctl update, link and
# unlink per operation in these configurations, interleaved in rounds (the
# order rotates every round) so that drift hits them all alike:
#   base          nobody watches, watch_queue.ko not loaded
#   pipe, other   a notification pipe watches another key (module not loaded)
#   pipe          a notification pipe watches the key and the keyring:
#                 pipe2(O_NOTIFICATION_PIPE), IOC_WATCH_QUEUE_SET_SIZE,
#                 keyctl(KEYCTL_WATCH_KEY); the kernel's own implementation
#   armed         a /dev/watch_queue queue watches another key: the module's
#                 key hooks run and decline
#   queue         a queue watches the key and the keyring
#   64 pipes      64 notification pipes watch them (module not loaded)
#   64 queues     64 queues watch them
# and, as one more configuration of each round, the consumption of the same
# 16-byte key records per record: a notification pipe's read(), the
# device's read() (4 KiB and 64 KiB buffers both) and its mmap'd ring.
#
# Per configuration the median of the rounds of each figure (the 10th
# percentile of a run's batches: time lost to preemption only ever adds)
# and ratios: to the base, and of the module to the kernel's own
# implementation in the same configuration.  The posting cost per record is
# (64 watchers - 1 watcher) / 63: what one more watcher, one more record,
# costs.  All of it goes to stdout and to $WQ_OUT/parity-bench.txt.  A
# figure printer, not a test: an error fails the run, no figure does.
#
# Environment: WQ_MODDIR, WQ_BIN, WQ_OUT (set by run-lane), WQ_TESTMODDIR
# (to reload wq_test.ko if it was loaded); optional PARITY_BENCH_ROUNDS (7),
# PARITY_BENCH_OPS (8192 of each operation per measurement, in batches of
# 32), PARITY_BENCH_FILLS (64 fills of 512 records per consumption
# measurement).
set -u

BENCH_NAME=run-parity-bench
# shellcheck source=tests/bench/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

: "${WQ_MODDIR:?WQ_MODDIR is not set}"
: "${WQ_OUT:?WQ_OUT is not set}"
WQ_BIN=${WQ_BIN:-${WQ_SRC:-.}/build/meson}
readonly bench=$WQ_BIN/tests/bench/parity_bench
readonly ko=$WQ_MODDIR/watch_queue.ko
readonly rounds=${PARITY_BENCH_ROUNDS:-7}
readonly ops=${PARITY_BENCH_OPS:-8192}
readonly fills=${PARITY_BENCH_FILLS:-64}
readonly report=$WQ_OUT/parity-bench.txt
readonly hooks=/sys/module/watch_queue/parameters/key_hooks
configs=(base pipe_other pipe armed queue pipe64 queue64 consume)
readonly op_names=(update link unlink)
readonly methods=(pipe_read4k pipe_read64k dev_read4k dev_read64k mmap)

declare -A label=([base]="nobody watches (base)" [pipe_other]="pipe, another key"
	[pipe]="1 pipe watching" [armed]="module armed, another key"
	[queue]="1 queue watching" [pipe64]="64 pipes watching" [queue64]="64 queues watching"
	[consume]="consumption")
declare -A options=([base]="--watch none" [pipe_other]="--watch pipe --other"
	[pipe]="--watch pipe" [armed]="--watch device --other" [queue]="--watch device"
	[pipe64]="--watch pipe --watchers 64" [queue64]="--watch device --watchers 64"
	[consume]="--consume --fills $fills")
# Configurations measured with the module loaded; the others without it.
declare -A module=([armed]=1 [queue]=1 [queue64]=1 [consume]=1)
declare -A method_label=([pipe_read4k]="pipe read(), 4 KiB buffer"
	[pipe_read64k]="pipe read(), 64 KiB buffer" [dev_read4k]="device read(), 4 KiB buffer"
	[dev_read64k]="device read(), 64 KiB buffer" [mmap]="device mmap ring")
# figures[config:name]: the rounds' values, space-separated
declare -A figures=()
hook_state=''

measure() { # config
	local c=$1 line name
	if [[ -n ${module[$c]:-} ]]; then load; else unload; fi
	# shellcheck disable=SC2086 # options is a word list
	line=$("$bench" ${options[$c]} --ops "$ops") || die "parity_bench failed (${label[$c]})"
	if [[ $c == consume ]]; then
		for name in "${methods[@]}"; do
			figures[$c:$name]+="$(field "$line" "${name}_p10") "
		done
		echo "  ${label[$c]}: $line"
		return
	fi
	for name in "${op_names[@]}"; do
		figures[$c:$name]+="$(field "$line" "${name}_p10") "
	done
	# The hooks' state and missed returns, as the last run left them.
	if [[ -n ${module[$c]:-} ]]; then
		hook_state=$(<"$hooks")
	fi
	echo "  ${label[$c]}: update $(field "$line" update_p10)" \
		"link $(field "$line" link_p10) unlink $(field "$line" unlink_p10)"
}

[[ -x $bench ]] || die "$bench is missing (build with meson first)"
[[ -f $ko ]] || die "$ko is missing"
mkdir -p "$WQ_OUT"
had_watch_queue=0 had_wq_test=0
loaded watch_queue && had_watch_queue=1
loaded wq_test && had_wq_test=1
# Without the kernel's own implementation (a stock lane), the module's
# configurations alone.  Decided by the lane, not by a failing pipe: on
# the reference lane a pipe that fails must fail the run, not shrink it.
unload
stock=0
if [[ ${WQ_LANE:-reference} != reference ]]; then
	stock=1
	configs=(base armed queue queue64)
else
	"$bench" --watch pipe --ops 256 --warmup 0 >/dev/null ||
		die "no notification pipes with key notifications in this kernel (CONFIG_WATCH_QUEUE, CONFIG_KEY_NOTIFICATIONS)"
fi
readonly stock configs

{
	if ((stock)); then
		echo "parity bench, stock kernel (no notification pipes): the module alone, kernel $(uname -r)"
	else
		echo "parity bench: the module beside the kernel's own notification queue, kernel $(uname -r)"
	fi
	echo "$ops operations of each kind per measurement in batches of 32 (link and unlink:"
	echo "32 user keys into and out of a keyring), $fills fills of 512 records per consumption"
	echo "measurement, $rounds rounds, CPU 0; figures: median of the rounds of each run's"
	echo "10th percentile of batches, ns (instructions under WQ_ICOUNT=0)"
} | tee "$report"

run_rounds

# Leave the modules as they were found.
unload
if ((had_watch_queue)); then
	load
	if ((had_wq_test)) && [[ -n ${WQ_TESTMODDIR:-} ]]; then
		insmod "$WQ_TESTMODDIR/wq_test.ko" || die "insmod wq_test.ko failed"
	fi
fi

declare -A med=()
for key in "${!figures[@]}"; do
	# shellcheck disable=SC2086 # the figures are word lists
	med[$key]=$(median ${figures[$key]})
done

# A row of per-operation figures: TEXT, then "op VALUE" for each operation,
# VALUE printed by the command given after TEXT, with the operation added.
op_row() { # text command...
	local text=$1 op
	shift
	printf '  %-30s' "$text"
	for op in "${op_names[@]}"; do
		printf ' %s %s' "$op" "$("$@" "$op")"
	done
	echo
}

# Config a over config b.
ratio_of() { # config-a config-b op
	ratio "${med[$1:$3]}" "${med[$2:$3]}"
}

# What one more watcher, one more record, costs: (64 - 1 watcher) / 63.
posting_cost() { # config-64 config-1 op
	awk -v a="${med[$1:$3]}" -v b="${med[$2:$3]}" 'BEGIN { printf "%.1f", (a - b) / 63 }'
}

# The module's posting cost over the kernel's.
posting_ratio() { # op
	awk -v m1="${med[queue:$1]}" -v m64="${med[queue64:$1]}" \
		-v p1="${med[pipe:$1]}" -v p64="${med[pipe64:$1]}" \
		'BEGIN { printf "%.3f", (m64 - m1) / (p64 - p1) }'
}

# The module against the kernel's own implementation, and consumption.
upstream_figures() {
	local m base
	echo "module / upstream, same configuration:"
	op_row "armed vs pipe, another key" ratio_of armed pipe_other
	op_row "1 queue vs 1 pipe" ratio_of queue pipe
	op_row "64 queues vs 64 pipes" ratio_of queue64 pipe64
	echo "posting cost per record ((64 watchers - 1 watcher) / 63):"
	op_row "upstream (pipe)" posting_cost pipe64 pipe
	op_row "module (queue)" posting_cost queue64 queue
	op_row "module / upstream" posting_ratio
	echo
	echo "consumption per record (16-byte key records, fills of 512); ratio to the pipe's read() with the same buffer"
	printf '%-30s %8s %6s\n' method ns ratio
	for m in "${methods[@]}"; do
		base=pipe_read4k
		[[ $m == *64k ]] && base=pipe_read64k
		printf '%-30s %8s %6s\n' "${method_label[$m]}" "${med[consume:$m]}" \
			"$(ratio "${med[consume:$m]}" "${med[consume:$base]}")"
	done
}

{
	echo
	echo "per operation; ratio to the base"
	printf '%-28s %8s %6s %8s %6s %8s %6s\n' configuration update ratio link ratio unlink ratio
	for c in base pipe_other pipe armed queue pipe64 queue64; do
		[[ -n ${med[$c:update]:-} ]] || continue
		printf '%-28s' "${label[$c]}"
		for op in "${op_names[@]}"; do
			printf ' %8s %6s' "${med[$c:$op]}" "$(ratio "${med[$c:$op]}" "${med[base:$op]}")"
		done
		echo
	done
	if ((stock)); then
		echo "posting cost per record ((64 queues - 1 queue) / 63):"
		op_row "module (queue)" posting_cost queue64 queue
	else
		upstream_figures
	fi
	echo
	echo "module's key hooks after the last run with the module: ${hook_state:-?}"
	echo "per round (p10):"
	for c in "${configs[@]}"; do
		for name in "${op_names[@]}" "${methods[@]}"; do
			[[ -n ${figures[$c:$name]:-} ]] || continue
			printf '  %-28s %-13s %s\n' "${label[$c]}" "$name" "${figures[$c:$name]}"
		done
	done
} | tee -a "$report"
