# SPDX-License-Identifier: GPL-2.0
# Convenience entry points for the kernel module; user space builds with Meson.
KDIR ?= /lib/modules/$(shell uname -r)/build

module:
	$(MAKE) -C module KDIR=$(KDIR)

# Needs no kernel tree, so that DKMS can clean without one.
clean:
	cd module && rm -rf *.o *.ko *.mod *.mod.c .*.cmd compat/.*.cmd \
		Module.symvers modules.order .tmp_versions

checkpatch:
	$(MAKE) -C module checkpatch CHECKPATCH=$(CHECKPATCH)

.PHONY: module clean checkpatch
