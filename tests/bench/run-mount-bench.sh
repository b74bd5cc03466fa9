#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest script (tests/vm/run-lane --script tests/bench/run-mount-bench.sh
# LANE): the cost of one mount change (a tmpfs mounted and unmounted below
# a watched directory) with 1, 100 and 8000 mount watches in the namespace,
# each configuration measured MOUNT_BENCH_ROUNDS times in rotating order.
# Each measurement is one run of mount_bench (see mount_bench.cpp):
# cpu = the CPU time of every thread in the guest per change, syscall =
# mount(2) plus umount2(2), latency = mount(2) to the record read.  Prints
# the medians of the rounds, their ratios to 1 watch and the target
# (8000 watches cost at most twice one, judged on cpu) as a PASS/MISS line;
# the same goes to $WQ_OUT/mount-bench.txt.  A figure printer, not a test:
# a MISS does not fail the run, an error does.  With WQ_ICOUNT=0
# (tests/vm/README.md) the figures are instructions.
#
# Environment: WQ_MODDIR, WQ_BIN, WQ_OUT (set by run-lane); optional
# MOUNT_BENCH_ROUNDS (5), MOUNT_BENCH_CHANGES (100 per measurement),
# MOUNT_BENCH_WATCHES ("1 100 8000").
set -u

BENCH_NAME=run-mount-bench
# shellcheck source=tests/bench/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

: "${WQ_MODDIR:?WQ_MODDIR is not set}"
: "${WQ_OUT:?WQ_OUT is not set}"
WQ_BIN=${WQ_BIN:-${WQ_SRC:-.}/build/meson}
readonly bench=$WQ_BIN/tests/bench/mount_bench
readonly ko=$WQ_MODDIR/watch_queue.ko
readonly rounds=${MOUNT_BENCH_ROUNDS:-5}
readonly changes=${MOUNT_BENCH_CHANGES:-100}
read -r -a configs <<<"${MOUNT_BENCH_WATCHES:-1 100 8000}"
readonly report=$WQ_OUT/mount-bench.txt
declare -A cpus=() syss=() lats=()

[[ -x $bench ]] || die "$bench is missing (build with meson first)"
if [[ ! -d /sys/module/watch_queue ]]; then
	insmod "$ko" || die "insmod $ko failed"
fi
for _ in $(seq 50); do
	[[ -c /dev/watch_queue ]] && break
	sleep 0.1
done
mkdir -p "$WQ_OUT"
ulimit -n 65536

{
	echo "mount bench: one tmpfs mounted and unmounted below a watched directory, $changes changes"
	echo "per measurement, $rounds rounds, kernel $(uname -r)"
} | tee "$report"

for ((r = 0; r < rounds; r++)); do
	echo "round $((r + 1))"
	for ((i = 0; i < ${#configs[@]}; i++)); do
		n=${configs[(i + r) % ${#configs[@]}]}
		line=$(taskset -c 0 "$bench" --watches "$n" --changes "$changes") ||
			die "mount_bench failed ($n watches)"
		cpus[$n]+="$(field "$line" cpu_per_change) "
		syss[$n]+="$(field "$line" syscall) "
		lats[$n]+="$(field "$line" latency) "
		echo "  $line"
	done
done

declare -A cpu=() sys=() lat=()
for n in "${configs[@]}"; do
	# shellcheck disable=SC2086 # the figures are word lists
	cpu[$n]=$(median ${cpus[$n]})
	# shellcheck disable=SC2086
	sys[$n]=$(median ${syss[$n]})
	# shellcheck disable=SC2086
	lat[$n]=$(median ${lats[$n]})
done
first=${configs[0]}
last=${configs[-1]}

{
	echo "ns per change, median of the rounds (ratio to $first watch)"
	printf '%-8s %12s %6s %12s %6s %12s\n' watches cpu ratio syscall ratio latency
	for n in "${configs[@]}"; do
		printf '%-8s %12s %6s %12s %6s %12s\n' "$n" \
			"${cpu[$n]}" "$(ratio "${cpu[$n]}" "${cpu[$first]}" 2)" \
			"${sys[$n]}" "$(ratio "${sys[$n]}" "${sys[$first]}" 2)" "${lat[$n]}"
	done
	echo "per round (cpu):"
	for n in "${configs[@]}"; do
		printf '  %-8s %s\n' "$n" "${cpus[$n]}"
	done
	awk -v a="${cpu[$last]}" -v b="${cpu[$first]}" -v n="$last" -v f="$first" 'BEGIN {
		printf "%s %s watches cost at most 2x %s (%.2fx)\n", (a <= 2 * b) ? "PASS" : "MISS", n, f, a / b }'
} | tee -a "$report"
