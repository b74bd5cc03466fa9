#!/bin/bash
# Runs in the demo guest (tools/demo): Debian's unmodified `keyctl watch`
# on the stock kernel, through the module and the compat library, while a
# scripted scenario changes keys.
set -euo pipefail
insmod "$WQ_MODDIR/watch_queue.ko"
export LD_PRELOAD=$WQ_BIN/userlib/compat/libwatchqueue-compat.so
echo 1 >/proc/sys/kernel/keys/gc_delay

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
rmmod watch_queue
