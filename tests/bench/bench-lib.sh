# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# What the guest benchmark scripts share: sourced by tests/bench/run-*.sh.
# The script sets BENCH_NAME (for messages) and, to load the module, ko
# (the path of watch_queue.ko); it may define bench_cleanup, which die
# runs before it exits.

die() {
	echo "${BENCH_NAME:-bench}: $*" >&2
	if declare -F bench_cleanup >/dev/null; then
		bench_cleanup
	fi
	exit 1
}

loaded() { # module
	[[ -d /sys/module/$1 ]]
}

# Unload the test module and the module, whichever are loaded.
unload() {
	if loaded wq_test; then
		rmmod wq_test || die "rmmod wq_test failed"
	fi
	if loaded watch_queue; then
		rmmod watch_queue || die "rmmod watch_queue failed"
	fi
}

# Load $ko (with the given parameters) unless it is loaded; wait for the
# device node.
load() { # [module parameters...]
	: "${ko:?the script sets ko, the path of watch_queue.ko}"
	if ! loaded watch_queue; then
		insmod "$ko" "$@" || die "insmod $ko failed"
	fi
	for _ in $(seq 50); do
		[[ -c /dev/watch_queue ]] && return 0
		sleep 0.1
	done
	die "/dev/watch_queue did not appear"
}

# The value of name=value among the words of a benchmark's output line.
field() { # line name
	local w
	for w in $1; do
		[[ $w == "$2="* ]] && { echo "${w#*=}"; return 0; }
	done
	die "no $2= in: $1"
}

median() { # numbers...
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { # value base [decimals, 3]
	awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN { printf "%.*f", d, a / b }'
}

# measure() for each configuration of the sourcing script's $configs, in
# $rounds rounds whose order rotates every round, so that drift hits them
# all alike.
run_rounds() {
	local r i
	# shellcheck disable=SC2154 # configs and rounds: the sourcing script's
	for ((r = 0; r < rounds; r++)); do
		echo "round $((r + 1))"
		for ((i = 0; i < ${#configs[@]}; i++)); do
			measure "${configs[(i + r) % ${#configs[@]}]}"
		done
	done
}
