#!/bin/bash
# Runs in the demo guest (tools/demo) on a stock kernel with the module:
#  1. Debian's unmodified `keyctl watch`, through the compat library, while
#     a scripted scenario changes keys;
#  2. wqmon on the session keyring and on every device while a scenario
#     changes keys, reads a bad sector of a scsi_debug disk and plugs and
#     unplugs a USB gadget on dummy_hcd.
set -euo pipefail
insmod "$WQ_MODDIR/watch_queue.ko"
export LD_PRELOAD=$WQ_BIN/userlib/preload/libwatchqueue-compat.so
echo 1 >/proc/sys/kernel/keys/gc_delay
WQMON=$WQ_BIN/tools/wqmon/wqmon
GADGET=/sys/kernel/config/usb_gadget/demo

say() { printf '\n### %s\n' "$*"; sleep 0.3; }

scenario() {
	local ring key
	ring=$(keyctl newring demo @s)
	keyctl watch "$ring" >/tmp/watch.log 2>&1 &
	local watcher=$!
	sleep 0.5
	say "keyctl watch $ring   (the watcher prints: <keyring> link|unlk <key>, <key> upd, ...)"
	say "add a key to the keyring";        key=$(keyctl add user greeting hello "$ring")
	keyctl watch "$key" >/tmp/watch-key.log 2>&1 &
	local key_watcher=$!
	sleep 0.5
	say "keyctl watch $key   (a second watcher, on the key itself)"
	say "update it";                       keyctl update "$key" "hello again"
	say "change its permissions";          keyctl setperm "$key" 0x3f3f0000
	say "link it into the session keyring too"; keyctl link "$key" @s
	say "unlink it from the demo keyring"; keyctl unlink "$key" "$ring"
	say "clear the keyring";               keyctl clear "$ring"
	say "revoke the key and the keyring";  keyctl revoke "$key"; keyctl revoke "$ring"
	say "unlink the keyring: the key GC destroys it and the watch ends (gc)"
	keyctl unlink "$ring" @s
	for _ in $(seq 50); do kill -0 "$watcher" 2>/dev/null || break; sleep 0.1; done
	kill "$watcher" "$key_watcher" 2>/dev/null || true
	wait 2>/dev/null || true
	printf '\n### keyctl watch %s (the keyring) printed:\n' "$ring"
	cat /tmp/watch.log
	printf '\n### keyctl watch %s (the key) printed:\n' "$key"
	cat /tmp/watch-key.log
}

supported() { if keyctl supports notify; then echo yes; else echo no; fi; }
echo "### stock kernel $(uname -r), no CONFIG_WATCH_QUEUE:"
echo "###   keyctl supports notify: $(LD_PRELOAD='' supported)"
echo "###   keyctl watch @s: $(LD_PRELOAD='' keyctl watch @s 2>&1 || true)"
echo "### with watch_queue.ko and LD_PRELOAD=libwatchqueue-compat.so:"
echo "###   keyctl supports notify: $(supported)"
export -f scenario say
keyctl session - bash -c scenario

# A gadget (USB loopback function) on the dummy controller.
gadget_make() {
	modprobe dummy_hcd
	modprobe libcomposite
	modprobe usb_f_ss_lb
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	mkdir -p "$GADGET/strings/0x409" "$GADGET/configs/c.1" "$GADGET/functions/Loopback.0"
	echo 0x1d6b >"$GADGET/idVendor"
	echo 0x0104 >"$GADGET/idProduct"
	echo "watch_queue demo gadget" >"$GADGET/strings/0x409/product"
	ln -s "$GADGET/functions/Loopback.0" "$GADGET/configs/c.1/"
}

gadget_remove() {
	rm -f "$GADGET/configs/c.1/Loopback.0"
	rmdir "$GADGET/configs/c.1" "$GADGET/functions/Loopback.0" \
		"$GADGET/strings/0x409" "$GADGET" 2>/dev/null || true
}

wqmon_scenario() {
	local key disk
	modprobe sd_mod
	modprobe scsi_debug dev_size_mb=8 opts=2 medium_error_start=2048 medium_error_count=8
	gadget_make
	udevadm settle 2>/dev/null || sleep 1
	key=$(keyctl add user wqmon-demo one @s)
	"$WQMON" @s "$key" --devices >/tmp/wqmon.log 2>&1 &
	local mon=$!
	sleep 1
	say "wqmon @s $key --devices   (the session keyring, a key in it, block errors, USB)"
	say "update the key";                 keyctl update "$key" two
	say "add a second key to @s, unlink it"
	keyctl unlink "$(keyctl add user wqmon-demo-2 x @s)" @s >/dev/null
	say "revoke the first key";           keyctl revoke "$key"
	disk=$(basename "$(ls -d /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block/* | sed -n 1p)")
	say "read sector 2048 of the scsi_debug disk /dev/$disk (a medium error)"
	dd if="/dev/$disk" of=/dev/null bs=512 skip=2048 count=1 iflag=direct 2>/dev/null || true
	say "plug a USB gadget into the dummy controller, then unplug it"
	echo dummy_udc.0 >"$GADGET/UDC"
	sleep 2
	echo "" >"$GADGET/UDC"
	sleep 2
	kill "$mon"
	wait "$mon" 2>/dev/null || true
	printf '\n### wqmon printed:\n'
	cat /tmp/wqmon.log
	gadget_remove
}
export WQMON GADGET
export -f wqmon_scenario gadget_make gadget_remove
LD_PRELOAD='' keyctl session - bash -c wqmon_scenario
rmmod watch_queue
