/* SPDX-License-Identifier: GPL-2.0 */
/* USB device and bus events: the usbcore notifier and kprobes. */
#ifndef _WQ_USB_H
#define _WQ_USB_H

#include <linux/types.h>

int wq_usb_init(void);
void wq_usb_exit(void);
/* True if the kernel has USB support (usbcore may be loaded later). */
bool wq_usb_available(void);
/*
 * Caller serialises arm and disarm.  Armed, the hooks attach to usbcore
 * now if it is loaded, else when it is; disarm detaches and waits until
 * no hook runs any more.
 */
int wq_usb_arm(void);
void wq_usb_disarm(void);

#endif /* _WQ_USB_H */
