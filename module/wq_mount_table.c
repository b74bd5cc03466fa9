// SPDX-License-Identifier: GPL-2.0
/*
 * Mount tables read from mountinfo, and their differences.
 *
 * mountinfo is user ABI (Documentation/filesystems/proc.rst): one line per
 * mount, "id parent major:minor root mount-point mount-options
 * [optional fields...] - fstype source super-options", fields separated
 * by single spaces, with spaces, tabs, newlines and backslashes in paths
 * escaped as \ooo.  Lines that do not parse are skipped.
 */
#include <linux/bsearch.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include "../uapi/linux/wq_dev.h"
#include "wq_mount_table.h"

#define WQ_MNT_TEXT_MIN		(16UL << 10)
/* Far beyond any real namespace (about 150 bytes per mount). */
#define WQ_MNT_TEXT_MAX		(16UL << 20)

struct wq_field {
	const char	*s;
	u32		len;
};

/* The next space-separated field of [*p, end); false at the end. */
static bool wq_next_field(const char **p, const char *end, struct wq_field *f)
{
	const char *e;

	if (*p >= end)
		return false;
	e = memchr(*p, ' ', end - *p);
	if (!e)
		e = end;
	f->s = *p;
	f->len = e - *p;
	*p = e < end ? e + 1 : end;
	return true;
}

static bool wq_field_u64(const struct wq_field *f, u64 *v)
{
	u32 i;

	if (!f->len || f->len > 20)
		return false;
	*v = 0;
	for (i = 0; i < f->len; i++) {
		if (f->s[i] < '0' || f->s[i] > '9')
			return false;
		*v = *v * 10 + (f->s[i] - '0');
	}
	return true;
}

/* An option list starting with "ro" (not "rw") */
static bool wq_opts_ro(const struct wq_field *f)
{
	return f->len >= 2 && f->s[0] == 'r' && f->s[1] == 'o' &&
	       (f->len == 2 || f->s[2] == ',');
}

static bool wq_parse_line(const char *p, const char *end, struct wq_mountinfo *m)
{
	struct wq_field id, parent, dev, root, mp, opts, f, fstype, source,
			super;
	const char *comma;

	if (!wq_next_field(&p, end, &id) || !wq_next_field(&p, end, &parent) ||
	    !wq_next_field(&p, end, &dev) || !wq_next_field(&p, end, &root) ||
	    !wq_next_field(&p, end, &mp) || !wq_next_field(&p, end, &opts))
		return false;
	/* Optional fields (shared:N, master:N, ...) end with "-". */
	do {
		if (!wq_next_field(&p, end, &f))
			return false;
	} while (f.len != 1 || f.s[0] != '-');
	if (!wq_next_field(&p, end, &fstype) ||
	    !wq_next_field(&p, end, &source) ||
	    !wq_next_field(&p, end, &super))
		return false;
	if (!wq_field_u64(&id, &m->id) || !wq_field_u64(&parent, &m->parent) ||
	    !mp.len)
		return false;
	/* "major:minor root": fields 3 and 4 are adjacent in the line. */
	m->fs = dev.s;
	m->fs_len = root.s + root.len - dev.s;
	m->mp = mp.s;
	m->mp_len = mp.len;
	m->ro = wq_opts_ro(&opts) || wq_opts_ro(&super);
	/* The attributes besides ro/rw, which READONLY reports. */
	comma = memchr(opts.s, ',', opts.len);
	m->opts = comma ? comma + 1 : opts.s + opts.len;
	m->opts_len = opts.s + opts.len - m->opts;
	return true;
}

static int wq_mountinfo_cmp(const void *a, const void *b)
{
	const struct wq_mountinfo *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int wq_mountinfo_key_cmp(const void *key, const void *elt)
{
	u64 id = *(const u64 *)key;
	const struct wq_mountinfo *m = elt;

	return id < m->id ? -1 : id > m->id;
}

/*
 * The whole file from offset 0, NUL-terminated, in a buffer of *capp + 1
 * bytes, *capp at most @max_bytes - 1.
 */
static int wq_mount_table_read_text(struct file *file, char **textp, size_t *lenp,
				    size_t *capp, size_t max_bytes)
{
	size_t cap = WQ_MNT_TEXT_MIN, len = 0;
	char *text, *bigger;
	loff_t pos = 0;
	ssize_t n;

	if (cap + 1 > max_bytes)
		return -ENOSPC;
	text = kvmalloc(cap + 1, GFP_KERNEL_ACCOUNT);
	if (!text)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= WQ_MNT_TEXT_MAX) {
				kvfree(text);
				return -EFBIG;
			}
			if (2 * cap + 1 > max_bytes) {
				kvfree(text);
				return -ENOSPC;
			}
			bigger = kvmalloc(2 * cap + 1, GFP_KERNEL_ACCOUNT);
			if (!bigger) {
				kvfree(text);
				return -ENOMEM;
			}
			memcpy(bigger, text, len);
			kvfree(text);
			text = bigger;
			cap *= 2;
		}
		/* Offset 0 makes the seq_file start over from the first mount. */
		n = kernel_read(file, text + len, cap - len, &pos);
		if (n < 0) {
			kvfree(text);
			return n;
		}
		if (n == 0)
			break;
		len += n;
	}
	text[len] = '\0';
	*textp = text;
	*lenp = len;
	*capp = cap;
	return 0;
}

int wq_mount_table_parse(struct wq_mount_table *t, char *text, size_t len,
			 size_t cap, size_t max_bytes)
{
	const char *p, *end = text + len, *nl;
	size_t lines = 0;

	memset(t, 0, sizeof(*t));
	t->text = text;
	for (p = text; p < end && (nl = memchr(p, '\n', end - p)); p = nl + 1)
		lines++;
	lines = lines ? lines : 1;
	t->bytes = cap + 1 + lines * sizeof(*t->mnts);
	if (t->bytes > max_bytes) {
		wq_mount_table_free(t);
		return -ENOSPC;
	}
	t->mnts = kvmalloc_array(lines, sizeof(*t->mnts), GFP_KERNEL_ACCOUNT);
	if (!t->mnts) {
		wq_mount_table_free(t);
		return -ENOMEM;
	}
	for (p = text; p < end && (nl = memchr(p, '\n', end - p)); p = nl + 1)
		if (wq_parse_line(p, nl, &t->mnts[t->nr]))
			t->nr++;
	sort(t->mnts, t->nr, sizeof(*t->mnts), wq_mountinfo_cmp, NULL);
	return 0;
}

int wq_mount_table_read(struct file *file, struct wq_mount_table *t,
			size_t max_bytes)
{
	size_t len, cap;
	char *text;
	int ret;

	memset(t, 0, sizeof(*t));
	ret = wq_mount_table_read_text(file, &text, &len, &cap, max_bytes);
	if (ret)
		return ret;
	return wq_mount_table_parse(t, text, len, cap, max_bytes);
}

void wq_mount_table_free(struct wq_mount_table *t)
{
	kvfree(t->mnts);
	kvfree(t->text);
	memset(t, 0, sizeof(*t));
}

static const struct wq_mountinfo *wq_mount_table_find(const struct wq_mount_table *t, u64 id)
{
	return bsearch(&id, t->mnts, t->nr, sizeof(*t->mnts), wq_mountinfo_key_cmp);
}

/*
 * The mount point relative to the parent's: unchanged when only an
 * ancestor moved, which is not a move of this mount.
 */
static struct wq_field wq_mountinfo_rel(const struct wq_mount_table *t,
					const struct wq_mountinfo *m)
{
	const struct wq_mountinfo *parent = wq_mount_table_find(t, m->parent);
	struct wq_field rel = { m->mp, m->mp_len };

	if (parent && parent != m && parent->mp_len > 1 &&
	    m->mp_len >= parent->mp_len &&
	    !memcmp(m->mp, parent->mp, parent->mp_len)) {
		rel.s += parent->mp_len;
		rel.len -= parent->mp_len;
	}
	return rel;
}

static bool wq_field_eq(struct wq_field a, struct wq_field b)
{
	return a.len == b.len && !memcmp(a.s, b.s, a.len);
}

static void wq_mount_table_diff_one(const struct wq_mount_table *old_t,
				    const struct wq_mountinfo *old,
				    const struct wq_mount_table *new_t,
				    const struct wq_mountinfo *new,
				    void (*fn)(const struct wq_mount_change *, void *),
				    void *data)
{
	struct wq_mount_change c = { .mnt = new, .parent = new->parent };

	if (old->parent != new->parent ||
	    !wq_field_eq(wq_mountinfo_rel(old_t, old), wq_mountinfo_rel(new_t, new))) {
		struct wq_mount_change from = {
			.subtype = WQ_MOUNT_MOVE_FROM,
			.mnt = old,
			.parent = old->parent,
		};

		fn(&from, data);
		c.subtype = WQ_MOUNT_MOVE_TO;
		fn(&c, data);
	}
	if (old->ro != new->ro) {
		c.subtype = WQ_MOUNT_READONLY;
		c.flags = new->ro ? WQ_MOUNT_IS_NOW_RO : 0;
		fn(&c, data);
	}
	if (old->opts_len != new->opts_len ||
	    memcmp(old->opts, new->opts, old->opts_len)) {
		c.subtype = WQ_MOUNT_SETATTR;
		c.flags = 0;
		fn(&c, data);
	}
}

void wq_mount_table_diff(const struct wq_mount_table *old,
			 const struct wq_mount_table *new,
			 void (*fn)(const struct wq_mount_change *c, void *data),
			 void *data)
{
	unsigned int i = 0, j = 0;
	struct wq_mount_change c;

	while (i < old->nr || j < new->nr) {
		const struct wq_mountinfo *o = i < old->nr ? &old->mnts[i] : NULL;
		const struct wq_mountinfo *n = j < new->nr ? &new->mnts[j] : NULL;

		memset(&c, 0, sizeof(c));
		if (o && (!n || o->id < n->id)) {
			c.subtype = WQ_MOUNT_UNMOUNT;
			c.mnt = o;
			c.parent = o->parent;
			fn(&c, data);
			i++;
		} else if (n && (!o || n->id < o->id)) {
			c.subtype = WQ_MOUNT_NEW;
			c.flags = n->ro ? WQ_MOUNT_IS_NOW_RO : 0;
			c.mnt = n;
			c.parent = n->parent;
			fn(&c, data);
			j++;
		} else if (o->fs_len != n->fs_len ||
			   memcmp(o->fs, n->fs, o->fs_len)) {
			/* The id was freed and given to another mount. */
			c.subtype = WQ_MOUNT_UNMOUNT;
			c.mnt = o;
			c.parent = o->parent;
			fn(&c, data);
			c.subtype = WQ_MOUNT_NEW;
			c.flags = n->ro ? WQ_MOUNT_IS_NOW_RO : 0;
			c.mnt = n;
			c.parent = n->parent;
			fn(&c, data);
			i++;
			j++;
		} else {
			wq_mount_table_diff_one(old, o, new, n, fn, data);
			i++;
			j++;
		}
	}
}
