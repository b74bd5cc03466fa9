// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the code that parses text or user structures: the
 * mountinfo parser and differ (wq_mount_table.c) and filter validation and
 * matching (wq_filter.c).  Built into the module only against a kernel
 * with CONFIG_KUNIT=y (the debug lane's); KUnit runs the suites when the
 * module loads and keeps their results in debugfs (kunit/<suite>/results).
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/string.h>
#include "wq_filter.h"
#include "wq_mount_table.h"

/* ------------------------------------------------------- mount tables */

#define WQ_TEST_MAX_BYTES	(1UL << 20)

/* Parse @text into @t as wq_mount_table_read() would after reading it. */
static int wq_test_table(struct kunit *test, struct wq_mount_table *t,
			 const char *text, size_t max_bytes)
{
	size_t len = strlen(text);
	char *copy = kvmalloc(len + 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, copy);
	memcpy(copy, text, len + 1);
	return wq_mount_table_parse(t, copy, len, len, max_bytes);
}

static const struct wq_mountinfo *wq_test_find(const struct wq_mount_table *t,
					       u64 id)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->mnts[i].id == id)
			return &t->mnts[i];
	return NULL;
}

static bool wq_test_field_is(const char *s, u32 len, const char *want)
{
	return len == strlen(want) && !memcmp(s, want, len);
}

static void wq_mountinfo_parses_fields(struct kunit *test)
{
	struct wq_mount_table t;
	const struct wq_mountinfo *m;

	KUNIT_ASSERT_EQ(test, 0, wq_test_table(test, &t,
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		"30 22 0:27 /sub /mnt/a\\040b ro,nosuid master:3 shared:4 - tmpfs none rw,size=4k\n",
		WQ_TEST_MAX_BYTES));
	KUNIT_EXPECT_EQ(test, 2U, t.nr);

	m = wq_test_find(&t, 22);
	KUNIT_ASSERT_NOT_NULL(test, m);
	KUNIT_EXPECT_EQ(test, 1ULL, m->parent);
	KUNIT_EXPECT_TRUE(test, wq_test_field_is(m->fs, m->fs_len, "8:1 /"));
	KUNIT_EXPECT_TRUE(test, wq_test_field_is(m->mp, m->mp_len, "/"));
	KUNIT_EXPECT_TRUE(test, wq_test_field_is(m->opts, m->opts_len, "relatime"));
	KUNIT_EXPECT_FALSE(test, m->ro);

	/* Escapes stay as mountinfo writes them; optional fields skipped. */
	m = wq_test_find(&t, 30);
	KUNIT_ASSERT_NOT_NULL(test, m);
	KUNIT_EXPECT_EQ(test, 22ULL, m->parent);
	KUNIT_EXPECT_TRUE(test, wq_test_field_is(m->fs, m->fs_len, "0:27 /sub"));
	KUNIT_EXPECT_TRUE(test, wq_test_field_is(m->mp, m->mp_len, "/mnt/a\\040b"));
	KUNIT_EXPECT_TRUE(test, wq_test_field_is(m->opts, m->opts_len, "nosuid"));
	KUNIT_EXPECT_TRUE(test, m->ro);
	wq_mount_table_free(&t);
}

/* Read-only from the mount's options or from the superblock's. */
static void wq_mountinfo_read_only(struct kunit *test)
{
	struct wq_mount_table t;

	KUNIT_ASSERT_EQ(test, 0, wq_test_table(test, &t,
		"1 0 0:1 / /a rw - ext4 x ro,errors=remount-ro\n"
		"2 0 0:2 / /b rw - ext4 x rw,errors=remount-ro\n"
		"3 0 0:3 / /c rootcontext=ro - ext4 x rw\n"
		"4 0 0:4 / /d ro - ext4 x rw\n",
		WQ_TEST_MAX_BYTES));
	KUNIT_ASSERT_EQ(test, 4U, t.nr);
	KUNIT_EXPECT_TRUE(test, wq_test_find(&t, 1)->ro);
	KUNIT_EXPECT_FALSE(test, wq_test_find(&t, 2)->ro);
	KUNIT_EXPECT_FALSE(test, wq_test_find(&t, 3)->ro);
	KUNIT_EXPECT_TRUE(test, wq_test_find(&t, 4)->ro);
	wq_mount_table_free(&t);
}

/* Lines that do not parse are skipped, whatever is wrong with them. */
static void wq_mountinfo_skips_bad_lines(struct kunit *test)
{
	struct wq_mount_table t;

	KUNIT_ASSERT_EQ(test, 0, wq_test_table(test, &t,
		"\n"
		"x 1 8:1 / /a rw - ext4 s rw\n"			/* id not a number */
		"5 -1 8:1 / /b rw - ext4 s rw\n"		/* negative parent */
		"123456789012345678901 1 8:1 / /c rw - ext4 s rw\n" /* 21 digits */
		"6 1 8:1 / /d rw shared:1 ext4 s rw\n"		/* no "-" */
		"7 1 8:1 / /e rw - ext4 s\n"			/* too short */
		"8 1 8:1 /  rw - ext4 s rw\n"			/* empty mount point */
		"9 1 8:1 / /f rw - ext4 s rw\n"			/* the good one */
		"10 1 8:1 / /g rw - ext4 s rw",			/* no newline: cut off */
		WQ_TEST_MAX_BYTES));
	KUNIT_EXPECT_EQ(test, 1U, t.nr);
	KUNIT_EXPECT_NOT_NULL(test, wq_test_find(&t, 9));
	wq_mount_table_free(&t);

	KUNIT_ASSERT_EQ(test, 0, wq_test_table(test, &t, "", WQ_TEST_MAX_BYTES));
	KUNIT_EXPECT_EQ(test, 0U, t.nr);
	wq_mount_table_free(&t);
}

/* 20 digits is the most a u64 has; more is not a mount id. */
static void wq_mountinfo_big_ids(struct kunit *test)
{
	struct wq_mount_table t;

	KUNIT_ASSERT_EQ(test, 0, wq_test_table(test, &t,
		"18446744073709551615 1 8:1 / /a rw - ext4 s rw\n",
		WQ_TEST_MAX_BYTES));
	KUNIT_EXPECT_EQ(test, 1U, t.nr);
	KUNIT_EXPECT_NOT_NULL(test, wq_test_find(&t, U64_MAX));
	wq_mount_table_free(&t);
}

/* The byte limit counts the text and the parsed entries. */
static void wq_mountinfo_byte_limit(struct kunit *test)
{
	struct wq_mount_table t;

	KUNIT_EXPECT_EQ(test, -ENOSPC, wq_test_table(test, &t,
		"1 0 8:1 / / rw - ext4 s rw\n", 32));
	KUNIT_EXPECT_NULL(test, t.text);
	KUNIT_EXPECT_NULL(test, t.mnts);
	KUNIT_EXPECT_EQ(test, 0, wq_test_table(test, &t,
		"1 0 8:1 / / rw - ext4 s rw\n", 4096));
	KUNIT_EXPECT_EQ(test, 1U, t.nr);
	wq_mount_table_free(&t);
}

struct wq_test_changes {
	unsigned int	nr;
	u8		subtype[8];
	u64		id[8];
	u32		flags[8];
};

static void wq_test_collect(const struct wq_mount_change *c, void *data)
{
	struct wq_test_changes *ch = data;

	if (ch->nr < ARRAY_SIZE(ch->subtype)) {
		ch->subtype[ch->nr] = c->subtype;
		ch->id[ch->nr] = c->mnt->id;
		ch->flags[ch->nr] = c->flags;
	}
	ch->nr++;
}

static void wq_test_diff(struct kunit *test, const char *old_text,
			 const char *new_text, struct wq_test_changes *ch)
{
	struct wq_mount_table old, new;

	memset(ch, 0, sizeof(*ch));
	KUNIT_ASSERT_EQ(test, 0, wq_test_table(test, &old, old_text,
					       WQ_TEST_MAX_BYTES));
	KUNIT_ASSERT_EQ(test, 0, wq_test_table(test, &new, new_text,
					       WQ_TEST_MAX_BYTES));
	wq_mount_table_diff(&old, &new, wq_test_collect, ch);
	wq_mount_table_free(&old);
	wq_mount_table_free(&new);
}

#define WQ_ROOT "1 0 8:1 / / rw - ext4 s rw\n"

static void wq_mount_diff_new_and_unmount(struct kunit *test)
{
	struct wq_test_changes ch;

	wq_test_diff(test, WQ_ROOT "2 1 0:5 / /a rw - tmpfs t rw\n",
		     WQ_ROOT "3 1 0:6 / /b ro - tmpfs t rw\n", &ch);
	KUNIT_ASSERT_EQ(test, 2U, ch.nr);
	KUNIT_EXPECT_EQ(test, WQ_MOUNT_UNMOUNT, ch.subtype[0]);
	KUNIT_EXPECT_EQ(test, 2ULL, ch.id[0]);
	KUNIT_EXPECT_EQ(test, WQ_MOUNT_NEW, ch.subtype[1]);
	KUNIT_EXPECT_EQ(test, 3ULL, ch.id[1]);
	KUNIT_EXPECT_EQ(test, (u32)WQ_MOUNT_IS_NOW_RO, ch.flags[1]);
}

/* An id freed and given to another filesystem: two changes, not one. */
static void wq_mount_diff_id_reused(struct kunit *test)
{
	struct wq_test_changes ch;

	wq_test_diff(test, WQ_ROOT "2 1 0:5 / /a rw - tmpfs t rw\n",
		     WQ_ROOT "2 1 0:9 / /a rw - tmpfs t rw\n", &ch);
	KUNIT_ASSERT_EQ(test, 2U, ch.nr);
	KUNIT_EXPECT_EQ(test, WQ_MOUNT_UNMOUNT, ch.subtype[0]);
	KUNIT_EXPECT_EQ(test, WQ_MOUNT_NEW, ch.subtype[1]);
}

static void wq_mount_diff_attributes(struct kunit *test)
{
	struct wq_test_changes ch;

	wq_test_diff(test, WQ_ROOT "2 1 0:5 / /a rw,nosuid - tmpfs t rw\n",
		     WQ_ROOT "2 1 0:5 / /a ro,nosuid,nodev - tmpfs t rw\n", &ch);
	KUNIT_ASSERT_EQ(test, 2U, ch.nr);
	KUNIT_EXPECT_EQ(test, WQ_MOUNT_READONLY, ch.subtype[0]);
	KUNIT_EXPECT_EQ(test, (u32)WQ_MOUNT_IS_NOW_RO, ch.flags[0]);
	KUNIT_EXPECT_EQ(test, WQ_MOUNT_SETATTR, ch.subtype[1]);

	wq_test_diff(test, WQ_ROOT "2 1 0:5 / /a rw - tmpfs t rw\n",
		     WQ_ROOT "2 1 0:5 / /a rw - tmpfs t rw\n", &ch);
	KUNIT_EXPECT_EQ(test, 0U, ch.nr);
}

/* A move is reported; a mount carried along by its parent's move is not. */
static void wq_mount_diff_moves(struct kunit *test)
{
	struct wq_test_changes ch;

	wq_test_diff(test, WQ_ROOT "2 1 0:5 / /a rw - tmpfs t rw\n"
			   "3 2 0:6 / /a/b rw - tmpfs t rw\n",
		     WQ_ROOT "2 1 0:5 / /z rw - tmpfs t rw\n"
			   "3 2 0:6 / /z/b rw - tmpfs t rw\n", &ch);
	KUNIT_ASSERT_EQ(test, 2U, ch.nr);
	KUNIT_EXPECT_EQ(test, WQ_MOUNT_MOVE_FROM, ch.subtype[0]);
	KUNIT_EXPECT_EQ(test, 2ULL, ch.id[0]);
	KUNIT_EXPECT_EQ(test, WQ_MOUNT_MOVE_TO, ch.subtype[1]);
	KUNIT_EXPECT_EQ(test, 2ULL, ch.id[1]);
}

static struct kunit_case wq_mount_table_cases[] = {
	KUNIT_CASE(wq_mountinfo_parses_fields),
	KUNIT_CASE(wq_mountinfo_read_only),
	KUNIT_CASE(wq_mountinfo_skips_bad_lines),
	KUNIT_CASE(wq_mountinfo_big_ids),
	KUNIT_CASE(wq_mountinfo_byte_limit),
	KUNIT_CASE(wq_mount_diff_new_and_unmount),
	KUNIT_CASE(wq_mount_diff_id_reused),
	KUNIT_CASE(wq_mount_diff_attributes),
	KUNIT_CASE(wq_mount_diff_moves),
	{}
};

static struct kunit_suite wq_mount_table_suite = {
	.name = "wq_mount_table",
	.test_cases = wq_mount_table_cases,
};

/* ------------------------------------------------------------- filters */

static void wq_filter_entry_checks(struct kunit *test)
{
	struct wq_notification_type_filter e = {
		.type = 1,
		.info_mask = WQ_INFO_ID,
		.info_filter = 3 << WQ_INFO_ID__SHIFT,
	};

	KUNIT_EXPECT_EQ(test, 0, wq_filter_entry_check(&e));
	/* A filter bit outside the mask could never match: refused. */
	e.info_filter |= 1U << 31;
	KUNIT_EXPECT_EQ(test, -EINVAL, wq_filter_entry_check(&e));
	/* Filtering on the record length is refused, as upstream does. */
	e.info_filter = 0;
	e.info_mask = WQ_INFO_LENGTH;
	KUNIT_EXPECT_EQ(test, -EINVAL, wq_filter_entry_check(&e));
	e.info_mask = 0;
	KUNIT_EXPECT_EQ(test, 0, wq_filter_entry_check(&e));
}

/* One entry per test; @bit: the one subtype that passes. */
static struct wq_filter *wq_test_filter(struct kunit *test, u32 type,
					unsigned int bit, u32 mask, u32 value)
{
	struct wq_filter *f = kunit_kzalloc(test, struct_size(f, entries, 1),
					    GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->nr = 1;
	f->entries[0].type = type;
	f->entries[0].subtype_filter[bit >> 5] = 1U << (bit & 31);
	f->entries[0].info_mask = mask;
	f->entries[0].info_filter = value;
	return f;
}

static void wq_filter_matches(struct kunit *test)
{
	struct wq_notification n = { .type = 2, .subtype = 255,
				     .info = 7 << WQ_INFO_ID__SHIFT | 16 };
	struct wq_filter *f;

	KUNIT_EXPECT_TRUE(test, wq_filter_match(NULL, &n));
	/* Subtype 255: the last bit of the eighth word. */
	f = wq_test_filter(test, 2, 255, 0, 0);
	KUNIT_EXPECT_TRUE(test, wq_filter_match(f, &n));
	n.subtype = 254;
	KUNIT_EXPECT_FALSE(test, wq_filter_match(f, &n));
	n.subtype = 255;
	n.type = 3;
	KUNIT_EXPECT_FALSE(test, wq_filter_match(f, &n));
	n.type = 2;

	f = wq_test_filter(test, 2, 255, WQ_INFO_ID, 7 << WQ_INFO_ID__SHIFT);
	KUNIT_EXPECT_TRUE(test, wq_filter_match(f, &n));
	n.info = 8 << WQ_INFO_ID__SHIFT | 16;
	KUNIT_EXPECT_FALSE(test, wq_filter_match(f, &n));
}

static struct kunit_case wq_filter_cases[] = {
	KUNIT_CASE(wq_filter_entry_checks),
	KUNIT_CASE(wq_filter_matches),
	{}
};

static struct kunit_suite wq_filter_suite = {
	.name = "wq_filter",
	.test_cases = wq_filter_cases,
};

kunit_test_suites(&wq_mount_table_suite, &wq_filter_suite);
