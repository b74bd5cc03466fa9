#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs at the end of boot in the package lane's guest (tests/vm/pkg-lane
# installs it as /usr/local/sbin/wq-pkg-guest with a systemd unit), as
# root, on a system where the packages were installed with apt and nothing
# else was done: no modprobe, no manual step.
#
# Checks: the module was loaded at boot (modules-load.d) and /dev/watch_queue
# exists; its version is the project's; wqmon --version; wqmon sees a key
# change; a program built against the installed pkg-config file works;
# wq-preload makes keyctl's notification support work; apt purge removes
# the module from DKMS and the system.
#
# Output on the 9p share "out": results.txt ("pkg-build" from the host
# side's log, "pkg" from here; "<suite> <passed> <failed>" as
# tests/vm/guest-suite.sh writes it), pkg.log, dmesg.txt, exit-status.
# Then powers off.
set -u
OUT=/out
mkdir -p "$OUT"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out "$OUT" ||
	{ echo "wq-pkg: cannot mount the output share" >/dev/console; systemctl poweroff -ff; }
# shellcheck disable=SC1091 # written by tests/vm/pkg-lane
. /root/wq-pkg/env
read -r uptime _ </proc/uptime
# run-lane looks for this line (the guest script started).
echo "wq-init: kernel $(uname -r) up ${uptime}s, running wq-pkg-guest" >/dev/console

LOG=$OUT/pkg.log
: >"$LOG"
passed=0 failed=0
ok() { echo "ok $*" >>"$LOG"; passed=$((passed + 1)); }
fail() { echo "FAIL $*" >>"$LOG"; failed=$((failed + 1)); }
check() { # description command...
	local what=$1
	shift
	if "$@" >>"$LOG" 2>&1; then
		ok "$what"
	else
		fail "$what"
		return 1
	fi
}
WORK=$(mktemp -d)

check_boot() {
	check "systemd-modules-load ran without failure" systemctl is-active systemd-modules-load.service
	check "watch_queue loaded at boot" grep -q '^watch_queue ' /proc/modules
	check "/dev/watch_queue is a character device" test -c /dev/watch_queue
	check "/dev/watch_queue is mode 0666" sh -c '[ "$(stat -c %a /dev/watch_queue)" = 666 ]'
	local v
	v=$(cat /sys/module/watch_queue/version 2>/dev/null)
	if [[ $v == "$WQ_VERSION" ]]; then ok "module version $v"; else fail "module version '$v', want $WQ_VERSION"; fi
	v=$(modinfo -F signer watch_queue 2>/dev/null)
	if [[ -n $v ]]; then ok "module signed by $v"; else fail "module unsigned"; fi
}

# wqmon --version prints meson's project version. Until wqmon has the
# option (a usage error that names it, exit 2) this is reported as not
# checked; once it has it, the version must be right.
check_wqmon_version() {
	local v rc=0
	v=$(wqmon --version 2>&1) || rc=$?
	echo "wqmon --version (exit $rc): $v" >>"$LOG"
	if ((rc == 0)) && [[ $v == *"$WQ_VERSION"* ]]; then
		ok "wqmon --version prints $WQ_VERSION"
	elif ((rc == 2)) && [[ $v == *--version* ]]; then
		echo "SKIP wqmon --version: this wqmon has no --version yet" >>"$LOG"
	else
		fail "wqmon --version (exit $rc) does not print $WQ_VERSION"
	fi
}

# wqmon watching the session keyring sees a key linked into it.
check_wqmon_keys() {
	local pid key i
	wqmon -n 1 --timeout 20 @s >"$WORK/wqmon.out" 2>"$WORK/wqmon.err" &
	pid=$!
	# Its banner on stderr says the watch is in place.
	for ((i = 0; i < 100; i++)); do
		[[ -s $WORK/wqmon.err ]] && break
		sleep 0.1
	done
	key=$(keyctl add user wq-pkg-wqmon data @s)
	wait "$pid"
	local rc=$?
	cat "$WORK/wqmon.err" "$WORK/wqmon.out" >>"$LOG"
	if ((rc == 0)) && grep -Eq "link +[0-9]+ +$key\$" "$WORK/wqmon.out"; then
		ok "wqmon -n 1 @s saw key $key linked"
	else
		fail "wqmon -n 1 @s (exit $rc) did not show key $key linked"
	fi
}

# wqmon.service: enabled by the package and started at boot with the
# packaged /etc/default/wqmon (devices and the root filesystem, to the
# journal); sandboxed with only CAP_SYS_ADMIN; survives a module reload
# (systemctl reload) and a crash; keeps metrics when configured; drops every
# capability for keys only; wqmon-keys@USER logs a user's key changes.
readonly ID_START=973d29809ea748d3b603891ada58a0ac
readonly ID_MEDIUM=82fc170d870743f48e4956f8b3880733
readonly ID_GAP=496c7befa78c49948f40f0fe3225149c
readonly ID_KEY=f92dc8762bbb405a9feb148aeea7070f
readonly MEDIUM_SECTOR=4660

until_true() { # seconds command...
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# entries_of PID ID [N]: the journal has N (1) entries with MESSAGE_ID=ID from PID
entries_of() {
	(($(journalctl -q -o cat "MESSAGE_ID=$2" "_PID=$1" | grep -c .) >= ${3:-1}))
}

main_pid() { systemctl show -P MainPID wqmon; }
cap_eff() { awk '/^CapEff:/ { print $2 }' "/proc/$1/status"; }

service_restarted() { # old pid: active again under another pid
	systemctl is-active -q wqmon && [[ $(main_pid) != "$1" && $(main_pid) != 0 ]]
}

scsi_disk=''
find_scsi_disk() {
	local d
	for d in /sys/block/sd*; do
		[[ -e $d/device/model && $(<"$d/device/model") == *scsi_debug* && -b /dev/${d##*/} ]] ||
			continue
		scsi_disk=/dev/${d##*/}
		return 0
	done
	return 1
}

medium_error() {
	! dd if="$scsi_disk" of=/dev/null bs=512 skip=$MEDIUM_SECTOR count=1 iflag=direct 2>/dev/null
}

set_default() { # NAME value: a line of /etc/default/wqmon
	sed -i "s|^$1=.*|$1=\"$2\"|" /etc/default/wqmon
}

check_service() {
	local pid prom=/var/lib/prometheus/node-exporter/watch_queue.prom
	until_true 30 systemctl is-active wqmon
	check "wqmon.service active after boot" systemctl is-active wqmon
	pid=$(main_pid)
	systemctl status --no-pager wqmon >>"$LOG" 2>&1
	check "wqmon.service keeps CAP_SYS_ADMIN only (devices watched)" \
		test "$(cap_eff "$pid")" = 0000000000200000
	check "journal: the service's start entry" until_true 20 entries_of "$pid" "$ID_START"
	check "journal catalog installed" sh -c "journalctl --list-catalog | grep -q '^$ID_MEDIUM wqmon:'"

	modprobe sd_mod 2>/dev/null
	check "modprobe scsi_debug with a medium error" modprobe scsi_debug dev_size_mb=16 opts=2 \
		medium_error_start=$MEDIUM_SECTOR medium_error_count=8
	check "scsi_debug disk appeared" until_true 20 find_scsi_disk
	check "medium error read fails" medium_error
	check "journal: the service logged the medium error" until_true 30 entries_of "$pid" "$ID_MEDIUM"
	journalctl -q -o json "MESSAGE_ID=$ID_MEDIUM" "_PID=$pid" >>"$LOG" 2>&1

	# metrics for node_exporter's textfile collector
	mkdir -p "$(dirname "$prom")"
	set_default WQMON_OUTPUT "--journal --metrics-textfile $prom --metrics-interval 1"
	check "systemctl restart wqmon (metrics configured)" systemctl restart wqmon
	check "metrics file written" until_true 20 test -s "$prom"
	medium_error
	check "metrics count the medium error" \
		until_true 30 grep -Eq "^watch_queue_block_errors_total\{.*kind=\"medium\".*\} [1-9]" "$prom"
	cat "$prom" >>"$LOG" 2>&1

	# the module reloaded under the running service
	pid=$(main_pid)
	check "systemctl reload wqmon" systemctl reload wqmon ||
		systemctl status --no-pager wqmon >>"$LOG" 2>&1
	check "modprobe -r watch_queue once the service let go" \
		until_true 30 modprobe -r watch_queue
	check "modprobe watch_queue" modprobe watch_queue
	check "journal: the gap logged" until_true 30 entries_of "$pid" "$ID_GAP"
	check "journal: watching again after the reload" until_true 30 entries_of "$pid" "$ID_START" 2
	check "same wqmon process after the reload" test "$(main_pid)" = "$pid"
	medium_error
	check "journal: events again after the reload" until_true 30 entries_of "$pid" "$ID_MEDIUM"

	# a crash: restarted by systemd
	kill -KILL "$pid"
	check "wqmon.service restarted after a crash" until_true 30 service_restarted "$pid"

	# keys only: no capability at all
	set_default WQMON_WATCH "@u"
	set_default WQMON_OUTPUT "--journal"
	check "systemctl restart wqmon (keys only)" systemctl restart wqmon
	check "wqmon.service active (keys only)" until_true 20 systemctl is-active wqmon
	check "wqmon.service keeps no capability for keys" test "$(cap_eff "$(main_pid)")" = 0000000000000000

	# a user's keys, as that user
	useradd -m wqkeys
	check "systemctl start wqmon-keys@wqkeys" systemctl start wqmon-keys@wqkeys.service
	check "wqmon-keys@wqkeys active" until_true 20 systemctl is-active wqmon-keys@wqkeys.service
	local kpid
	kpid=$(systemctl show -P MainPID wqmon-keys@wqkeys.service)
	check "wqmon-keys@wqkeys runs as wqkeys" test "$(stat -c %U "/proc/$kpid")" = wqkeys
	check "journal: wqmon-keys@wqkeys is watching" until_true 20 entries_of "$kpid" "$ID_START"
	runuser -u wqkeys -- keyctl add user wq-pkg-user data @u >>"$LOG" 2>&1
	check "journal: the user's key change logged" until_true 30 entries_of "$kpid" "$ID_KEY"
	systemctl stop wqmon-keys@wqkeys.service wqmon
	for ((i = 0; i < 50; i++)); do modprobe -r scsi_debug 2>/dev/null && break; sleep 0.2; done
}

check_program() {
	check "a program built against pkg-config watchqueue sees a key change" /root/wq-pkg/program
}

# Without the library, the stock kernel has no notification pipes.
check_preload() {
	if keyctl supports notify >/dev/null 2>&1; then
		echo "(keyctl supports notify succeeds without wq-preload: kernel has CONFIG_WATCH_QUEUE)" >>"$LOG"
	fi
	check "wq-preload keyctl supports notify" wq-preload keyctl supports notify
	check "wq-preload installed its library in a private directory" \
		sh -c 'ls /usr/lib/*/watch-queue/libwatchqueue-compat.so && ! ldconfig -p | grep -q watchqueue-compat'
}

check_purge() {
	check "apt purge watch-queue-dkms" apt-get purge -y watch-queue-dkms
	local status
	# Its list on stdout (bookworm's dkms may complain of a broken pipe on
	# stderr when it has nothing to list).
	status=$(dkms status 2>>"$LOG")
	echo "dkms status: '$status'" >>"$LOG"
	if [[ -z $status ]]; then ok "dkms status empty after purge"; else fail "dkms status after purge: $status"; fi
	check "no watch_queue.ko under /lib/modules/*/updates" \
		sh -c '! find /lib/modules/*/updates -name "watch_queue.ko*" 2>/dev/null | grep -q .'
	check "no /usr/src/watch-queue-*" sh -c '! ls -d /usr/src/watch-queue-* 2>/dev/null'
	check "no modules-load.d entry" test ! -e /usr/lib/modules-load.d/watch-queue.conf
	check "modinfo no longer finds watch_queue" sh -c '! modinfo watch_queue'
}

check_boot
check_wqmon_version
check_wqmon_keys
check_service
check_program
check_preload
check_purge

hp=$(grep -c '^ok ' /root/wq-pkg/host.log)
hf=$(grep -c '^FAIL' /root/wq-pkg/host.log)
{
	echo "pkg-build $hp $hf"
	echo "pkg $passed $failed"
} >"$OUT/results.txt"
cp /root/wq-pkg/host.log "$OUT/pkg-build.log"
cat "$LOG" >/dev/console
dmesg >"$OUT/dmesg.txt" 2>&1
rc=0
((failed == 0 && hf == 0)) || rc=1
echo "wq-init: guest script exited with status $rc" >/dev/console
echo "$rc" >"$OUT/exit-status"
sync
umount "$OUT"
systemctl poweroff -ff
