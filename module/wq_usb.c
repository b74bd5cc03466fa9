// SPDX-License-Identifier: GPL-2.0
/*
 * USB events for the global device watch: the original series' records,
 * with ver #4's bus events.
 *
 * usbcore is a module (CONFIG_USB=m on the stock kernels), so it is never
 * linked against: while armed, its notifier functions are taken with
 * symbol_get() as soon as usbcore is live (now, or from a module notifier
 * when it is loaded later), which also keeps usbcore loaded until the last
 * global watch goes.  Disarmed, nothing refers to usbcore.
 *
 * - device and bus add/remove: usb_register_notify(), the notifier the
 *   original series' usbfs hook sat on; process context.
 * - device reset: a return probe on usb_reset_and_verify_device(), which
 *   every reset of a configured device goes through (usb_reset_device()
 *   for USBDEVFS_RESET and drivers, reset-resume); the original posted
 *   from hub_port_init() when udev->config was set, i.e. from there.
 * - device error: the hub driver giving up on a newly connected device
 *   prints "unable to enumerate USB device" on the port device from
 *   hub_port_connect(), which is inlined, so a probe on _dev_err() picks
 *   that message out.  The record names the device the port would have
 *   had.
 * Which probe targets exist is shown in the usb_hooks module parameter.
 */
#include <linux/device.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/ptrace.h>
#include <linux/string.h>
#include <linux/usb.h>
#include "wq_devices.h"
#include "wq_hooks.h"
#include "wq_usb.h"

#define WQ_USB_CORE		"usbcore"
#define WQ_USB_RESET_FN		"usb_reset_and_verify_device"
#define WQ_USB_ERROR_FN		"_dev_err"
#define WQ_USB_ENUM_FAILED	"unable to enumerate USB device\n"
#define WQ_USB_NAME_OFF		offsetof(struct wq_usb_notification, name)

/* Attach state; never taken while registering the module notifier. */
static DEFINE_MUTEX(wq_usb_lock);
static bool wq_usb_wanted;		/* armed: attach when usbcore is live */
static bool wq_usb_attached;
static bool wq_usb_armed;		/* the module notifier is registered */
static void (*wq_usb_unregister_notify)(struct notifier_block *nb);

static void wq_usb_post(enum wq_usb_subtype subtype, u32 error,
			const char *name)
{
	u64 buf[DIV_ROUND_UP(WQ_USB_NAME_OFF + WQ_USB_MAX_NAME_LEN, 8)] = {};
	struct wq_usb_notification *n = (struct wq_usb_notification *)buf;
	size_t len = strnlen(name, WQ_USB_MAX_NAME_LEN);

	n->watch.type = WQ_TYPE_USB;
	n->watch.subtype = subtype;
	n->watch.info = round_up(WQ_USB_NAME_OFF + len, 8);
	n->error = error;
	n->name_len = len;
	memcpy(n->name, name, len);
	wq_devices_post_usb(&n->watch);
}

static int wq_usb_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	char bus[16];

	switch (action) {
	case USB_DEVICE_ADD:
		wq_usb_post(WQ_USB_DEVICE_ADD, 0,
			    dev_name(&((struct usb_device *)data)->dev));
		break;
	case USB_DEVICE_REMOVE:
		wq_usb_post(WQ_USB_DEVICE_REMOVE, 0,
			    dev_name(&((struct usb_device *)data)->dev));
		break;
	case USB_BUS_ADD:
		snprintf(bus, sizeof(bus), "usb%d", ((struct usb_bus *)data)->busnum);
		wq_usb_post(WQ_USB_BUS_ADD, 0, bus);
		break;
	case USB_BUS_REMOVE:
		snprintf(bus, sizeof(bus), "usb%d", ((struct usb_bus *)data)->busnum);
		wq_usb_post(WQ_USB_BUS_REMOVE, 0, bus);
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block wq_usb_nb = {
	.notifier_call = wq_usb_notify,
};

/* usb_reset_and_verify_device(udev): the name, kept until the return */
struct wq_usb_reset_data {
	char	name[WQ_USB_MAX_NAME_LEN + 1];
};

static int wq_usb_reset_entry(struct kretprobe_instance *ri,
			      struct pt_regs *regs)
{
	struct wq_usb_reset_data *d = (struct wq_usb_reset_data *)ri->data;
	struct usb_device *udev;

	udev = (struct usb_device *)regs_get_kernel_argument(regs, 0);
	/* Refused at once without resetting anything (root hubs, ...) */
	if (!udev->parent || udev->state == USB_STATE_NOTATTACHED ||
	    udev->state == USB_STATE_SUSPENDED)
		return 1;
	strscpy(d->name, dev_name(&udev->dev), sizeof(d->name));
	return 0;
}

static int wq_usb_reset_ret(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	struct wq_usb_reset_data *d = (struct wq_usb_reset_data *)ri->data;
	int ret = (int)regs_return_value(regs);

	wq_usb_post(WQ_USB_DEVICE_RESET, ret < 0 ? -ret : 0, d->name);
	return 0;
}

/*
 * "usb1-port2" -> "1-2", "1-1-port3" -> "1-1.3": the name usbcore gives
 * the device on port N of a hub (usb_alloc_dev()).
 */
static bool wq_usb_port_child(const char *port, char *out, size_t size)
{
	const char *sep = strrchr(port, '-');
	int hub_len;

	if (!sep || strncmp(sep, "-port", 5) || !sep[5])
		return false;
	hub_len = sep - port;
	if (hub_len > 3 && !strncmp(port, "usb", 3))
		snprintf(out, size, "%.*s-%s", hub_len - 3, port + 3, sep + 5);
	else
		snprintf(out, size, "%.*s.%s", hub_len, port, sep + 5);
	return true;
}

/* _dev_err(dev, fmt, ...): only hub.c's enumeration failure counts */
static int wq_usb_error_pre(struct kprobe *kp, struct pt_regs *regs)
{
	const struct device *dev;
	const char *fmt;
	char name[WQ_USB_MAX_NAME_LEN + 1];

	dev = (const struct device *)regs_get_kernel_argument(regs, 0);
	fmt = (const char *)regs_get_kernel_argument(regs, 1);
	if (!dev || !fmt || strcmp(fmt, WQ_USB_ENUM_FAILED))
		return 0;
	if (!dev->type || !dev->type->name || strcmp(dev->type->name, "usb_port"))
		return 0;
	if (wq_usb_port_child(dev_name(dev), name, sizeof(name)))
		wq_usb_post(WQ_USB_DEVICE_ERROR, 0, name);
	return 0;
}

/*
 * The reset target is in usbcore (looked for when attached; placed again
 * if usbcore was reloaded), _dev_err in the core kernel.  Neither is
 * required: without one, only its records are missing.
 */
static struct wq_hook wq_usb_hooks[] = {
	{ .names = { WQ_USB_RESET_FN }, .kind = WQ_HOOK_KRETPROBE,
	  .need = WQ_HOOK_IN_MODULE, .entry = wq_usb_reset_entry,
	  .ret = wq_usb_reset_ret,
	  .data_size = sizeof(struct wq_usb_reset_data), .maxactive = 16 },
	{ .names = { WQ_USB_ERROR_FN }, .kind = WQ_HOOK_KPROBE,
	  .need = WQ_HOOK_OPTIONAL, .pre = wq_usb_error_pre,
	  .without = "no USB error records" },
};

static struct wq_hook_set wq_usb_hook_set = {
	WQ_HOOK_SET(wq_usb_hook_set, "usb", "USB notifications", wq_usb_hooks),
};

/* wq_usb_lock held: take usbcore if it is live and hook into it */
static void wq_usb_attach_locked(void)
{
	void (*reg)(struct notifier_block *nb);

	if (!wq_usb_wanted || wq_usb_attached)
		return;
	/* NULL while usbcore is not loaded or still initialising. */
	reg = symbol_get(usb_register_notify);
	if (!reg)
		return;
	wq_usb_unregister_notify = symbol_get(usb_unregister_notify);
	if (!wq_usb_unregister_notify) {
		symbol_put(usb_register_notify);
		return;
	}
	/* usbcore is live: its target should exist (warned about if not). */
	wq_hooks_arm(&wq_usb_hook_set, WQ_HOOKS_ARM_WARN_MODULE);
	reg(&wq_usb_nb);
	wq_usb_attached = true;
}

/* wq_usb_lock held: unhook and let usbcore go */
static void wq_usb_detach_locked(void)
{
	if (!wq_usb_attached)
		return;
	/* Each waits until no callback or handler runs any more. */
	wq_usb_unregister_notify(&wq_usb_nb);
	wq_hooks_disarm(&wq_usb_hook_set);
	symbol_put(usb_unregister_notify);
	symbol_put(usb_register_notify);
	wq_usb_unregister_notify = NULL;
	wq_usb_attached = false;
}

/* usbcore loaded after the watch was added: attach once it is live */
static int wq_usb_module_notify(struct notifier_block *nb,
				unsigned long state, void *data)
{
	struct module *mod = data;

	if (state != MODULE_STATE_LIVE || strcmp(mod->name, WQ_USB_CORE))
		return NOTIFY_DONE;
	mutex_lock(&wq_usb_lock);
	wq_usb_attach_locked();
	mutex_unlock(&wq_usb_lock);
	return NOTIFY_DONE;
}

static struct notifier_block wq_usb_module_nb = {
	.notifier_call = wq_usb_module_notify,
};

bool wq_usb_available(void)
{
	return IS_ENABLED(CONFIG_USB);
}

int wq_usb_arm(void)
{
	int ret;

	if (wq_usb_armed)
		return 0;
	if (!wq_usb_available())
		return -EOPNOTSUPP;
	/* First, so that a usbcore going live from now on is seen. */
	ret = register_module_notifier(&wq_usb_module_nb);
	if (ret)
		return ret;
	/* From a watch ioctl: the caller may be killed while waiting. */
	if (mutex_lock_killable(&wq_usb_lock)) {
		unregister_module_notifier(&wq_usb_module_nb);
		return -EINTR;
	}
	wq_usb_wanted = true;
	wq_usb_attach_locked();
	mutex_unlock(&wq_usb_lock);
	wq_usb_armed = true;
	return 0;
}

void wq_usb_disarm(void)
{
	if (!wq_usb_armed)
		return;
	/* Waits for a notification in progress: none attaches afterwards. */
	unregister_module_notifier(&wq_usb_module_nb);
	mutex_lock(&wq_usb_lock);
	wq_usb_wanted = false;
	wq_usb_detach_locked();
	mutex_unlock(&wq_usb_lock);
	wq_usb_armed = false;
}

/* Which probe targets exist; usbcore's is looked for when attached. */
int wq_usb_init(void)
{
	if (wq_usb_available())
		wq_hooks_init(&wq_usb_hook_set);
	return 0;
}

void wq_usb_exit(void)
{
	WARN_ON(wq_usb_armed);
}

/*
 * usb_hooks (read-only): armed or disarmed, whether usbcore is attached,
 * then the probe targets as in the usb line of "hooks" ("+" placed, "!"
 * not found (usbcore's: not yet), a placed return probe's misses).
 */
static int wq_usb_hooks_show(char *buf, const struct kernel_param *kp)
{
	int n;

	mutex_lock(&wq_usb_lock);
	n = scnprintf(buf, PAGE_SIZE, "%s %s", wq_usb_armed ? "armed" : "disarmed",
		      wq_usb_attached ? WQ_USB_CORE : "!" WQ_USB_CORE);
	n = wq_hooks_show_targets(&wq_usb_hook_set, buf, n);
	n += scnprintf(buf + n, PAGE_SIZE - n, "\n");
	mutex_unlock(&wq_usb_lock);
	return n;
}

static const struct kernel_param_ops wq_usb_hooks_ops = {
	.get = wq_usb_hooks_show,
};
module_param_cb(usb_hooks, &wq_usb_hooks_ops, NULL, 0444);
MODULE_PARM_DESC(usb_hooks, "USB hooks: armed, usbcore attached, probe targets (as in hooks)");
