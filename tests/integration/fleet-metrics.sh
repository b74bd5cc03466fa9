#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# wqmon --metrics-textfile as a fleet would run it, end to end, as root in
# a guest with watch_queue.ko loaded and the host's root filesystem
# (prometheus-node-exporter, curl): node_exporter's textfile collector
# serves wqmon's counters after a real scsi_debug medium error and a key
# update; it reads the file without error; wqmon rewrites the file every
# interval without events; after SIGTERM the file is still whole.
#
# Usage: WQMON=/path/to/wqmon fleet-metrics.sh
# Environment: WQ_METRICS_WAIT  seconds to wait for each expected value (30)
#
# Prints TAP (check-lib.sh): a line per check, then the plan; exits 1 if any
# failed. Runs in a new anonymous session keyring, so @s is its own.
set -u

readonly WAIT=${WQ_METRICS_WAIT:-30}
readonly SESSION_MARK=WQ_FLEET_METRICS_IN_SESSION
readonly LISTEN=127.0.0.1:9100
# scsi_debug's medium errors, as the block suite sets them: sectors
# 0x1234 to 0x1234 + 7 of its disk cannot be read.
readonly MEDIUM_START=4660
readonly MEDIUM_COUNT=8

# shellcheck source=tests/integration/check-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

textfile= # node_exporter's textfile directory
prom=     # wqmon's metrics file in it
scrape=   # node_exporter's last answer
disk=     # the scsi_debug disk: sda, ...
mon_pid=
exporter_pid=

# wait_for FILE ERE: true once FILE has a line matching ERE.
wait_for() {
	local deadline=$((SECONDS + WAIT))
	while ((SECONDS <= deadline)); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Scrapes node_exporter into $scrape; false if it does not answer.
scrape_now() {
	curl -sf --max-time 5 "http://$LISTEN/metrics" >"$scrape.new" && mv "$scrape.new" "$scrape"
}

# value_at_least FILE METRIC VALUE LABEL...: true if FILE has a sample of
# METRIC whose labels include every LABEL (name="value", exactly as the
# text format writes it, in any order) and whose value is at least VALUE.
value_at_least() {
	local file=$1 metric=$2 min=$3
	shift 3
	WANT=$(IFS=$'\034' && echo "$*") awk -v metric="$metric" -v min="$min" '
		BEGIN { n = split(ENVIRON["WANT"], want, "\034") }
		index($0, metric "{") != 1 { next }
		{
			for (i = 1; i <= n; i++)
				if (index($0, want[i]) == 0)
					next
			if ($NF + 0 >= min + 0)
				found = 1
		}
		END { exit !found }' "$file"
}

# wait_for_metric CHECK METRIC LABEL...: scrapes until a sample of METRIC
# with LABELs is at least 1.
wait_for_metric() {
	local check=$1 metric=$2 deadline=$((SECONDS + WAIT))
	shift 2
	while ((SECONDS <= deadline)); do
		if scrape_now && value_at_least "$scrape" "$metric" 1 "$@"; then
			pass "$check"
			return 0
		fi
		sleep 0.5
	done
	local got
	got=$(grep '^watch_queue_' "$scrape" 2>/dev/null | tr '\n' '|' | cut -c1-600)
	fail "$check" "no $metric{$*} >= 1 in ${WAIT}s (node_exporter: $got; wqmon printed: $(show "$work/wqmon.out"))"
	return 1
}

# node_exporter's last words, on one line.
log_tail() { tail -n 3 "$work/node_exporter.log" | tr '\n' '|' | cut -c1-600; }

unload_scsi_debug() {
	local i
	[[ -d /sys/module/scsi_debug ]] || return 0
	# busy for a moment after the last close (partition rescans)
	for ((i = 0; i < 100; i++)); do
		modprobe -r scsi_debug 2>/dev/null && return 0
		sleep 0.1
	done
	echo "fleet-metrics: cannot unload scsi_debug" >&2
}

cleanup() {
	check_cleanup
	unload_scsi_debug
}

# ----------------------------------------------------------------- checks

check_preconditions() {
	[[ -x ${WQMON:-} ]] || fatal setup "WQMON is not set to the wqmon binary"
	local tool
	for tool in prometheus-node-exporter curl keyctl ip modprobe dd; do
		command -v "$tool" >/dev/null ||
			fatal setup "$tool not found (tests/install-deps installs it on the host)"
	done
	[[ -c /dev/watch_queue ]] || fatal setup "/dev/watch_queue missing: module not loaded"
	pass setup
}

start_exporter() {
	ip link set lo up || fatal exporter "cannot bring lo up"
	textfile=$work/textfile
	prom=$textfile/watch_queue.prom
	scrape=$work/scrape
	mkdir -p "$textfile"
	# proves that what answers on $LISTEN is this node_exporter, reading
	# this directory
	printf 'fleet_metrics_run{pid="%s"} 1\n' $$ >"$textfile/run.prom"
	prometheus-node-exporter --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$textfile" --web.listen-address="$LISTEN" \
		>"$work/node_exporter.log" 2>&1 &
	exporter_pid=$!
	bg_pids+=("$exporter_pid")
	local deadline=$((SECONDS + WAIT))
	until scrape_now && grep -qxF "fleet_metrics_run{pid=\"$$\"} 1" "$scrape"; do
		if ((SECONDS > deadline)) || ! kill -0 "$exporter_pid" 2>/dev/null; then
			fatal exporter "node_exporter does not serve $textfile on $LISTEN ($(log_tail))"
		fi
		sleep 0.2
	done
	pass exporter
}

# One scsi_debug disk with medium errors; its name in $disk.
load_scsi_debug() {
	modprobe sd_mod 2>/dev/null
	modprobe scsi_debug dev_size_mb=16 num_tgts=1 opts=2 \
		medium_error_start=$MEDIUM_START medium_error_count=$MEDIUM_COUNT ||
		fatal scsi-debug "modprobe scsi_debug failed"
	local deadline=$((SECONDS + WAIT)) d
	while ((SECONDS <= deadline)); do
		for d in /sys/block/sd*; do
			if [[ -e $d/device/model && $(<"$d/device/model") == *scsi_debug* &&
				-b /dev/${d##*/} ]]; then
				disk=${d##*/}
				pass "scsi-debug ($disk)"
				return 0
			fi
		done
		sleep 0.1
	done
	fatal scsi-debug "no scsi_debug disk in /sys/block"
}

# wqmon in the background, back once its banner says that the watches are
# in place (--quiet would take that away). Its records go to a file.
start_wqmon() {
	"$WQMON" --devices --metrics-textfile "$prom" --metrics-interval 1 @s "$key" \
		>"$work/wqmon.out" 2>"$work/wqmon.err" &
	mon_pid=$!
	bg_pids+=("$mon_pid")
	wait_for "$work/wqmon.err" '^wqmon: watching ' ||
		fatal wqmon-start "no banner ($(show "$work/wqmon.err"))"
	# written when wqmon starts, before any record or interval
	local deadline=$((SECONDS + WAIT))
	until [[ -s $prom ]] || ((SECONDS > deadline)); do
		sleep 0.1
	done
	if [[ -s $prom ]]; then
		pass metrics-file-at-start
	else
		fail metrics-file-at-start "no $prom ($(show "$work/wqmon.err"))"
	fi
}

check_events() {
	local dev sector=$((MEDIUM_START + 2))
	dev=$(<"/sys/block/$disk/dev") # major:minor
	if dd if="/dev/$disk" of=/dev/null bs=512 skip="$sector" count=1 iflag=direct \
		2>"$work/dd.err"; then
		fail medium-error-read "sector $sector of /dev/$disk was read ($(show "$work/dd.err"))"
	else
		pass medium-error-read
	fi
	keyctl update "$key" updated || fail key-update "keyctl update $key failed"

	wait_for_metric block-medium-error watch_queue_block_errors_total \
		"device=\"$dev\"" 'kind="medium"'
	# the name is udev's, or empty where it knows nothing of the disk
	if grep -qE "^watch_queue_block_errors_total\{.*name=\"($disk)?\"" "$scrape"; then
		pass block-disk-name
	else
		fail block-disk-name "$(grep '^watch_queue_block_errors_total' "$scrape" | tr '\n' '|')"
	fi
	wait_for_metric key-updated watch_queue_key_events_total \
		"watched=\"$key\"" 'event="updated"'
	wait_for_metric records-block watch_queue_records_total 'type="block"'
	wait_for_metric last-event-time watch_queue_last_event_timestamp_seconds 'type="key"'
	if grep -qxF 'watch_queue_records_lost_total 0' "$scrape"; then
		pass records-lost-zero
	else
		fail records-lost-zero "$(grep '^watch_queue_records_lost' "$scrape" | tr '\n' '|')"
	fi
	check_scrape_error scrape-error-zero
}

# CHECK: node_exporter read every textfile, wqmon's among them.
check_scrape_error() {
	if grep -qxF 'node_textfile_scrape_error 0' "$scrape" &&
		grep -qF "node_textfile_mtime_seconds{file=\"$prom\"}" "$scrape"; then
		pass "$1"
	else
		fail "$1" "$(grep '^node_textfile' "$scrape" | tr '\n' '|') ($(log_tail))"
	fi
}

# Rewritten every --metrics-interval without events: its mtime is wqmon's
# heartbeat.
check_rewritten() {
	local before after
	before=$(stat -c %Y "$prom")
	sleep 3
	after=$(stat -c %Y "$prom")
	if ((after > before)); then
		pass rewritten-every-interval
	else
		fail rewritten-every-interval "mtime $before, 3 s later $after"
	fi
}

check_exit() {
	kill -TERM "$mon_pid"
	if wait_exit "$mon_pid" && ((exit_status == 0)); then
		pass sigterm-exit-0
	else
		fail sigterm-exit-0 "exit ${exit_status:-none} ($(show "$work/wqmon.err"))"
	fi
	# the final write is whole: every counter, one file, node_exporter reads it
	local left
	left=$(find "$textfile" -mindepth 1 ! -name watch_queue.prom ! -name run.prom)
	if [[ -z $left ]]; then
		pass no-temporary-file
	else
		fail no-temporary-file "$left"
	fi
	if [[ $(tail -c 1 "$prom") == '' ]] &&
		value_at_least "$prom" watch_queue_block_errors_total 1 'kind="medium"' &&
		value_at_least "$prom" watch_queue_key_events_total 1 'event="updated"' &&
		grep -q '^watch_queue_monitor_start_time_seconds ' "$prom"; then
		pass file-whole-after-exit
	else
		fail file-whole-after-exit "$(show "$prom")"
	fi
	if command -v promtool >/dev/null; then
		if promtool check metrics <"$prom" >"$work/promtool.out" 2>&1; then
			pass file-lint
		else
			fail file-lint "$(show "$work/promtool.out")"
		fi
	fi
	if scrape_now; then
		check_scrape_error scrape-after-exit
	else
		fail scrape-after-exit "node_exporter does not answer"
	fi
}

# ------------------------------------------------------------------- main

if [[ ${!SESSION_MARK:-} != 1 ]]; then
	export "$SESSION_MARK=1"
	exec keyctl session - "$0" "$@"
fi

on_exit cleanup
work=$(mktemp -d)
check_preconditions
start_exporter
load_scsi_debug
key=$(keyctl add user fleet-metrics value @s) || fatal setup "keyctl add failed"
start_wqmon
check_events
check_rewritten
check_exit
((failures == 0))
