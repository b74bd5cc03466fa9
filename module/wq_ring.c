// SPDX-License-Identifier: GPL-2.0
/* Ring memory: allocation, the double mapping, user mappings. */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "compat/wq_compat.h"
#include "wq_ring.h"

/*
 * Ring memory is charged to the active memory cgroup (see wq_queue_size).
 * A queue that does not fit fails with ENOMEM: __GFP_RETRY_MAYFAIL keeps
 * the OOM killer, global or memcg, out of it.
 */
#define WQ_RING_GFP	(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN | \
			 __GFP_RETRY_MAYFAIL)

static void wq_ring_free_pages(struct wq_ring *ring)
{
	unsigned int i;

	if (ring->data_pages) {
		for (i = 0; i < ring->nr_data_pages; i++)
			if (ring->data_pages[i])
				__free_page(ring->data_pages[i]);
		kvfree(ring->data_pages);
	}
	if (ring->prod_page)
		__free_page(ring->prod_page);
	if (ring->cons_page)
		__free_page(ring->cons_page);
}

/* @size: a power of two, at least PAGE_SIZE, checked by the caller */
struct wq_ring *wq_ring_alloc(u64 size)
{
	unsigned int i, nr = size >> PAGE_SHIFT;
	struct page **map;
	struct wq_ring *ring;

	ring = kzalloc(sizeof(*ring), GFP_KERNEL_ACCOUNT);
	if (!ring)
		return NULL;
	ring->size = size;
	ring->nr_data_pages = nr;

	ring->cons_page = alloc_page(WQ_RING_GFP);
	ring->prod_page = alloc_page(WQ_RING_GFP);
	ring->data_pages = kvcalloc(nr, sizeof(*ring->data_pages),
				    GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	if (!ring->cons_page || !ring->prod_page || !ring->data_pages)
		goto err;
	for (i = 0; i < nr; i++) {
		ring->data_pages[i] = alloc_page(WQ_RING_GFP);
		if (!ring->data_pages[i])
			goto err;
	}

	/* The kernel view maps every data page twice; see wq_ring.h. */
	map = kvmalloc_array(2 * nr, sizeof(*map),
			     GFP_KERNEL | __GFP_RETRY_MAYFAIL);
	if (!map)
		goto err;
	for (i = 0; i < 2 * nr; i++)
		map[i] = ring->data_pages[i % nr];
	ring->data = vmap(map, 2 * nr, VM_MAP, PAGE_KERNEL);
	kvfree(map);
	if (!ring->data)
		goto err;

	ring->cons = page_address(ring->cons_page);
	ring->prod = page_address(ring->prod_page);
	ring->prod->data_size = size;
	return ring;

err:
	wq_ring_free_pages(ring);
	kfree(ring);
	return NULL;
}

void wq_ring_free(struct wq_ring *ring)
{
	if (!ring)
		return;
	vunmap(ring->data);
	wq_ring_free_pages(ring);
	kfree(ring);
}

static struct page *wq_ring_page(struct wq_ring *ring, unsigned long pgoff)
{
	if (pgoff == WQ_PGOFF_CONSUMER)
		return ring->cons_page;
	if (pgoff == WQ_PGOFF_PRODUCER)
		return ring->prod_page;
	return ring->data_pages[(pgoff - WQ_PGOFF_DATA) % ring->nr_data_pages];
}

/*
 * Only the consumer page may be writable.  Everything else is mapped
 * read-only with VM_MAYWRITE cleared, so mprotect() cannot upgrade it, and
 * VM_DONTEXPAND stops mremap() from growing any mapping.
 */
int wq_ring_mmap(struct wq_ring *ring, struct vm_area_struct *vma)
{
	unsigned long total = WQ_PGOFF_DATA + 2UL * ring->nr_data_pages;
	unsigned long pgoff = vma->vm_pgoff, npages = vma_pages(vma);
	unsigned long i, addr = vma->vm_start;
	int ret;

	/* VM_MAYSHARE: a read-only descriptor's MAP_SHARED lacks VM_SHARED */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (pgoff >= total || npages > total - pgoff)
		return -EINVAL;
	if (pgoff + npages > WQ_PGOFF_PRODUCER) {
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		wq_vm_flags_clear(vma, VM_MAYWRITE);
	}
	wq_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);

	for (i = 0; i < npages; i++, addr += PAGE_SIZE) {
		ret = vm_insert_page(vma, addr, wq_ring_page(ring, pgoff + i));
		if (ret)
			return ret;
	}
	return 0;
}

s64 wq_ring_used(const struct wq_ring *ring, u64 head, u64 *tail)
{
	/*
	 * Acquire pairs with the consumer's release store of its position:
	 * it has finished reading the bytes before it, so they may be
	 * overwritten after this load.
	 */
	u64 t = smp_load_acquire(&ring->cons->tail);
	u64 used = head - t;

	if ((t & (WQ_RECORD_ALIGN - 1)) || used > ring->size)
		return -EIO;
	*tail = t;
	return used;
}

void wq_ring_write(struct wq_ring *ring, u64 pos, const void *rec, u32 len)
{
	memcpy(ring->data + (pos & (ring->size - 1)), rec, len);
}
