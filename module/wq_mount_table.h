/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of a mount table as /proc/<pid>/mountinfo shows it, and the
 * differences between two copies.
 */
#ifndef _WQ_MOUNT_TABLE_H
#define _WQ_MOUNT_TABLE_H

#include <linux/fs.h>
#include <linux/types.h>

struct wq_mountinfo {
	u64		id;		/* mountinfo field 1 */
	u64		parent;		/* field 2 */
	const char	*fs;		/* fields 3 and 4: device and root */
	const char	*mp;		/* field 5, escaped as mountinfo does */
	const char	*opts;		/* field 6 without its leading ro/rw */
	u32		fs_len;
	u32		mp_len;
	u32		opts_len;
	bool		ro;		/* the mount or its superblock */
};

struct wq_mount_table {
	char		*text;		/* the file's contents, fields point in */
	struct wq_mountinfo	*mnts;		/* sorted by id */
	unsigned int	nr;
	size_t		bytes;		/* allocated for text and mnts */
};

/*
 * Read and parse @file (a mountinfo file), allocating at most @max_bytes
 * (-ENOSPC past it, -EFBIG past 16 MiB of text); the table is empty on
 * error.  Allocations are GFP_KERNEL_ACCOUNT: charged to the active memory
 * cgroup.
 */
int wq_mount_table_read(struct file *file, struct wq_mount_table *t,
			size_t max_bytes);
void wq_mount_table_free(struct wq_mount_table *t);

/*
 * Parse @len bytes of mountinfo text (NUL-terminated, in a kvmalloc()ed
 * buffer of @cap + 1 bytes, which the table takes over even on error):
 * wq_mount_table_read() after reading, and the KUnit tests' way in.
 */
int wq_mount_table_parse(struct wq_mount_table *t, char *text, size_t len,
			 size_t cap, size_t max_bytes);

/* A change between two tables; mount and parent ids as in the records. */
struct wq_mount_change {
	u8		subtype;	/* WQ_MOUNT_* */
	u32		flags;		/* WQ_MOUNT_IS_NOW_RO */
	const struct wq_mountinfo *mnt;	/* the changed mount (its mp decides) */
	u64		parent;
};

/* Calls @fn for each change from @old to @new, in mount id order. */
void wq_mount_table_diff(const struct wq_mount_table *old,
			 const struct wq_mount_table *new,
			 void (*fn)(const struct wq_mount_change *c, void *data),
			 void *data);

#endif /* _WQ_MOUNT_TABLE_H */
