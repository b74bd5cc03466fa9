// SPDX-License-Identifier: GPL-2.0
/*
 * Filters, with upstream's validation (the CVE-2022-0995 lesson: every
 * bound is checked before anything is indexed).  Unlike upstream, which
 * keeps only subtype_filter[0], all 8 words are kept, so subtypes 0..255
 * are honoured, and entries of any type are kept; a type wider than 24 bits
 * simply never matches.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "wq_filter.h"
#include "wq_queue.h"

int wq_filter_entry_check(const struct wq_notification_type_filter *e)
{
	if (e->info_filter & ~e->info_mask)
		return -EINVAL;
	if (e->info_mask & WQ_INFO_LENGTH)
		return -EINVAL;
	return 0;
}

static struct wq_filter *wq_filter_copy(const void __user *arg)
{
	struct wq_notification_filter hdr;
	struct wq_filter *f;
	unsigned int i;
	int ret;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return ERR_PTR(-EFAULT);
	if (hdr.nr_filters == 0 || hdr.nr_filters > WQ_MAX_FILTERS ||
	    hdr.__reserved != 0)
		return ERR_PTR(-EINVAL);

	/* nr_filters <= 16, so the size cannot overflow */
	f = kzalloc(struct_size(f, entries, hdr.nr_filters), GFP_KERNEL_ACCOUNT);
	if (!f)
		return ERR_PTR(-ENOMEM);
	f->nr = hdr.nr_filters;
	if (copy_from_user(f->entries,
			   arg + offsetof(struct wq_notification_filter, filters),
			   f->nr * sizeof(f->entries[0]))) {
		ret = -EFAULT;
		goto err;
	}
	for (i = 0; i < f->nr; i++) {
		ret = wq_filter_entry_check(&f->entries[i]);
		if (ret)
			goto err;
	}
	return f;
err:
	kfree(f);
	return ERR_PTR(ret);
}

int wq_filter_set(struct wq_queue *q, const void __user *arg)
{
	struct wq_filter *f = NULL, *old;

	if (arg) {
		f = wq_filter_copy(arg);
		if (IS_ERR(f))
			return PTR_ERR(f);
	}

	/*
	 * Posters read the filter under RCU; the old one is freed after them.
	 * The copy from user space is done: only a spinlock is needed here.
	 */
	raw_spin_lock_irq(&q->lock);
	old = rcu_replace_pointer(q->filter, f, lockdep_is_held(&q->lock));
	raw_spin_unlock_irq(&q->lock);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

void wq_filter_free(struct wq_queue *q)
{
	kfree(rcu_dereference_protected(q->filter, 1));
}

bool wq_filter_match(const struct wq_filter *f, const struct wq_notification *n)
{
	const struct wq_notification_type_filter *e;
	unsigned int i, sub = n->subtype;

	if (!f)
		return true;
	for (i = 0; i < f->nr; i++) {
		e = &f->entries[i];
		if (e->type != n->type)
			continue;
		if (!(e->subtype_filter[sub >> 5] & (1U << (sub & 31))))
			continue;
		if ((n->info & e->info_mask) == e->info_filter)
			return true;
	}
	return false;
}
