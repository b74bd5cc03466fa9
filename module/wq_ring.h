/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ring: a consumer page (user-writable), a producer page and the data
 * pages, vmapped twice back to back so that a record starting anywhere in
 * the data area is contiguous for the kernel and for user space alike.
 */
#ifndef _WQ_RING_H
#define _WQ_RING_H

#include <linux/mm_types.h>
#include "../uapi/linux/wq_dev.h"

struct wq_ring {
	u64			size;		/* data bytes, a power of two */
	unsigned int		nr_data_pages;
	struct page		*cons_page;
	struct page		*prod_page;
	struct page		**data_pages;
	void			*data;		/* vmap of data pages, twice */
	struct wq_ring_consumer	*cons;		/* user-writable: never trusted */
	struct wq_ring_producer	*prod;
};

/* mmap page offsets */
#define WQ_PGOFF_CONSUMER	0
#define WQ_PGOFF_PRODUCER	1
#define WQ_PGOFF_DATA		2

struct wq_ring *wq_ring_alloc(u64 size);
void wq_ring_free(struct wq_ring *ring);
int wq_ring_mmap(struct wq_ring *ring, struct vm_area_struct *vma);

/*
 * Bytes between the consumer's tail and @head, or a negative errno if the
 * consumer position is corrupt (not 8-aligned or not within size of head).
 */
s64 wq_ring_used(const struct wq_ring *ring, u64 head, u64 *tail);

/* Copy @len bytes at position @pos into the ring (caller checked space). */
void wq_ring_write(struct wq_ring *ring, u64 pos, const void *rec, u32 len);

#endif /* _WQ_RING_H */
