// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Key notifications through upstream's API only: pipe2(O_NOTIFICATION_PIPE),
 * IOC_WATCH_QUEUE_SET_SIZE, IOC_WATCH_QUEUE_SET_FILTER, keyctl_watch_key()
 * and read(), exactly as a program written for a CONFIG_WATCH_QUEUE kernel
 * does it (no project header). Run under LD_PRELOAD=libwatchqueue-compat.so
 * with watch_queue.ko loaded, or on a kernel with CONFIG_KEY_NOTIFICATIONS:
 * the records must be the same.
 *
 * Creates a keyring in the process keyring, watches it (id 1) and a key in
 * it (id 2, through the pipe's "write end"), changes them, and checks every
 * record field by field. The filter drops NOTIFY_KEY_CLEARED, so clearing
 * the keyring must produce only the removal record of the key it destroys.
 *
 * Prints TAP: one line per check ("ok N - ..." or "not ok N - ...: ..."), then
 * the plan "1..N", also after a fatal failure or the time limit; exits 0 only
 * if all passed. <fcntl.h> is not included: it cannot be combined with
 * <linux/watch_queue.h>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/watch_queue.h>
#include <keyutils.h>

#define QUEUE_NOTES		256
#define RECORD_TIMEOUT_MS	15000	/* key GC runs from a workqueue */
#define QUIET_MS		500
#define WHOLE_RUN_SECONDS	120

#define WATCH_RING		1
#define WATCH_KEY		2

/* Checks numbered so far; on_alarm() reads it. */
static volatile sig_atomic_t checks;
static int failures;

static void fail(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	checks++;
	printf("not ok %d - %s: ", (int)checks, what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures++;
}

static void ok(const char *what)
{
	checks++;
	printf("ok %d - %s\n", (int)checks, what);
	fflush(stdout);
}

static void __attribute__((noreturn)) finish(void)
{
	/* A diagnostic, not a check: the harness counts the checks. */
	if (failures)
		printf("# upstream_api_keys: %d check(s) failed\n", failures);
	else
		printf("# upstream_api_keys: all checks passed\n");
	printf("1..%d\n", (int)checks);
	exit(failures ? 1 : 0);
}

static void __attribute__((noreturn)) fatal(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void __attribute__((noreturn)) fatal(const char *what, const char *fmt, ...)
{
	va_list ap;

	checks++;
	printf("not ok %d - %s: ", (int)checks, what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (cannot go on)\n");
	failures++;
	finish();
}

/* Appends @s to @p; async-signal-safe, for on_alarm(). */
static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* Appends @v in decimal to @p; async-signal-safe, for on_alarm(). */
static char *put_int(char *p, int v)
{
	char digits[12];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

/* A failed check and the plan, with write() alone: printf is not safe here. */
static void on_alarm(int sig)
{
	char buf[160], *p = buf;
	int n = checks + 1;
	ssize_t ret;

	(void)sig;
	p = put_str(p, "not ok ");
	p = put_int(p, n);
	p = put_str(p, " - upstream_api_keys: still running after the time limit\n1..");
	p = put_int(p, n);
	p = put_str(p, "\n");
	ret = write(STDOUT_FILENO, buf, (size_t)(p - buf));
	(void)ret;
	_exit(1);
}

static const char *err_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "unknown errno";
}

/* A call that must succeed. */
static long must(const char *what, long ret)
{
	if (ret < 0)
		fatal(what, "-1 %s (%s)", err_name(errno), strerror(errno));
	return ret;
}

/* A call that must fail with @err. */
static void must_fail(const char *what, long ret, int err)
{
	if (ret != -1)
		fail(what, "returned %ld, expected -1 %s", ret, err_name(err));
	else if (errno != err)
		fail(what, "errno %s (%s), expected %s", err_name(errno),
		     strerror(errno), err_name(err));
	else
		ok(what);
}

/* ---------------------------------------------------------------- reading */

union record {
	struct watch_notification n;
	struct key_notification key;
	struct watch_notification_removal removal;
	unsigned char bytes[128];
};

struct reader {
	int fd;
	size_t len, pos;
	unsigned char buf[4096];
};

/* The next record; 0 if none arrives within @timeout_ms. */
static int next_record(struct reader *r, union record *rec, int timeout_ms)
{
	struct watch_notification n;
	size_t left, len;

	if (r->pos == r->len) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		ssize_t got;
		int ready;

		do
			ready = poll(&pfd, 1, timeout_ms);
		while (ready < 0 && errno == EINTR);
		if (ready < 0)
			fatal("poll", "%s", strerror(errno));
		if (ready == 0)
			return 0;
		got = read(r->fd, r->buf, sizeof(r->buf));
		if (got < 0)
			fatal("read", "%s (%s)", err_name(errno), strerror(errno));
		if (got == 0)
			fatal("read", "end of file on the notification queue");
		r->len = (size_t)got;
		r->pos = 0;
	}

	left = r->len - r->pos;
	if (left < sizeof(n))
		fatal("read", "%zu stray byte(s) after the last whole record", left);
	memcpy(&n, r->buf + r->pos, sizeof(n));
	len = n.info & WATCH_INFO_LENGTH;
	if (len < sizeof(n) || len > left || len > sizeof(*rec))
		fatal("read", "record length %zu with %zu byte(s) left in the read", len, left);
	memset(rec, 0, sizeof(*rec));
	memcpy(rec, r->buf + r->pos, len);
	r->pos += len;
	return 1;
}

static void describe(const union record *rec, char *out, size_t size)
{
	size_t len = rec->n.info & WATCH_INFO_LENGTH;
	size_t i, at;

	at = (size_t)snprintf(out, size, "type %u subtype %u info 0x%08x:",
			      rec->n.type, rec->n.subtype, rec->n.info);
	for (i = 0; i < len && at + 3 < size; i++)
		at += (size_t)snprintf(out + at, size - at, " %02x", rec->bytes[i]);
}

struct field_check {
	const char *what;
	int bad;
};

static void check_field(struct field_check *c, const char *field,
			uint64_t got, uint64_t expected)
{
	if (got == expected)
		return;
	fail(c->what, "%s is %" PRIu64 " (0x%" PRIx64 "), expected %" PRIu64 " (0x%" PRIx64 ")",
	     field, got, got, expected, expected);
	c->bad = 1;
}

static void check_header(struct field_check *c, const union record *rec,
			 unsigned int type, unsigned int subtype,
			 unsigned int len, unsigned int watch_id)
{
	uint32_t info = rec->n.info;

	check_field(c, "type", rec->n.type, type);
	check_field(c, "subtype", rec->n.subtype, subtype);
	check_field(c, "length", info & WATCH_INFO_LENGTH, len);
	check_field(c, "watch id", (info & WATCH_INFO_ID) >> WATCH_INFO_ID__SHIFT, watch_id);
	check_field(c, "type-specific info flags", info & WATCH_INFO_TYPE_INFO, 0);
}

static void report(struct field_check *c, const union record *rec)
{
	char text[512];

	if (c->bad) {
		describe(rec, text, sizeof(text));
		printf("     record was: %s\n", text);
	} else {
		ok(c->what);
	}
}

static void await(struct reader *r, union record *rec, const char *what)
{
	if (!next_record(r, rec, RECORD_TIMEOUT_MS))
		fatal(what, "no record within %d ms", RECORD_TIMEOUT_MS);
}

static void expect_key(struct reader *r, const char *what, unsigned int subtype,
		       unsigned int watch_id, key_serial_t key_id, uint32_t aux)
{
	struct field_check c = { what, 0 };
	union record rec;

	await(r, &rec, what);
	check_header(&c, &rec, WATCH_TYPE_KEY_NOTIFY, subtype,
		     sizeof(struct key_notification), watch_id);
	check_field(&c, "key_id", rec.key.key_id, (uint32_t)key_id);
	check_field(&c, "aux", rec.key.aux, aux);
	report(&c, &rec);
}

static void expect_removal(struct reader *r, const char *what,
			   unsigned int watch_id, key_serial_t key)
{
	struct field_check c = { what, 0 };
	union record rec;

	await(r, &rec, what);
	check_header(&c, &rec, WATCH_TYPE_META, WATCH_META_REMOVAL_NOTIFICATION,
		     sizeof(struct watch_notification_removal), watch_id);
	check_field(&c, "removal id", rec.removal.id, (uint64_t)(uint32_t)key);
	report(&c, &rec);
}

static void expect_quiet(struct reader *r, const char *what)
{
	union record rec;
	char text[512];
	int queued = -1;

	if (next_record(r, &rec, QUIET_MS)) {
		describe(&rec, text, sizeof(text));
		fail(what, "unexpected record: %s", text);
		return;
	}
	if (ioctl(r->fd, FIONREAD, &queued) != 0)
		fail(what, "FIONREAD: %s", strerror(errno));
	else if (queued != 0)
		fail(what, "FIONREAD says %d byte(s) queued", queued);
	else
		ok(what);
}

/* ------------------------------------------------------------------- main */

static int open_queue(int fds[2])
{
	struct watch_notification_filter *filter;
	size_t size = sizeof(*filter) + sizeof(filter->filters[0]);
	const char *preload = getenv("LD_PRELOAD");

	if (pipe2(fds, O_NOTIFICATION_PIPE | O_CLOEXEC) != 0)
		fatal("pipe2(O_NOTIFICATION_PIPE)",
		      "%s (%s): the kernel has no notification pipes and none was "
		      "provided in their place (is watch_queue.ko loaded, is "
		      "/dev/watch_queue there, LD_PRELOAD=%s?)",
		      err_name(errno), strerror(errno), preload ? preload : "(unset)");
	ok("pipe2(O_NOTIFICATION_PIPE)");

	must("IOC_WATCH_QUEUE_SET_SIZE", ioctl(fds[0], IOC_WATCH_QUEUE_SET_SIZE, QUEUE_NOTES));
	ok("IOC_WATCH_QUEUE_SET_SIZE");

	filter = calloc(1, size);
	if (!filter)
		fatal("calloc", "out of memory");
	filter->nr_filters = 1;
	filter->filters[0].type = WATCH_TYPE_KEY_NOTIFY;
	filter->filters[0].subtype_filter[0] = 0xff & ~(1U << NOTIFY_KEY_CLEARED);
	must("IOC_WATCH_QUEUE_SET_FILTER", ioctl(fds[0], IOC_WATCH_QUEUE_SET_FILTER, filter));
	free(filter);
	ok("IOC_WATCH_QUEUE_SET_FILTER (all key subtypes but CLEARED)");
	return fds[0];
}

int main(void)
{
	const key_perm_t perm = KEY_POS_ALL | KEY_USR_ALL;
	struct reader *r;
	int fds[2];
	key_serial_t ring, a, b, again;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(WHOLE_RUN_SECONDS);

	r = calloc(1, sizeof(*r));
	if (!r)
		fatal("calloc", "out of memory");
	r->fd = open_queue(fds);

	ring = must("add_key keyring", add_key("keyring", "wq-upstream-api-keys", NULL, 0,
					       KEY_SPEC_PROCESS_KEYRING));
	must("keyctl_watch_key(ring, id 1)", keyctl_watch_key(ring, r->fd, WATCH_RING));
	ok("keyctl_watch_key(ring, id 1)");
	must_fail("keyctl_watch_key(ring) twice on one queue -> EBUSY",
		  keyctl_watch_key(ring, r->fd, WATCH_RING), EBUSY);
	must_fail("keyctl_watch_key(id 256) -> EINVAL", keyctl_watch_key(ring, r->fd, 256), EINVAL);
	must_fail("keyctl_watch_key(id -2) -> EINVAL", keyctl_watch_key(ring, r->fd, -2), EINVAL);

	a = must("add_key user a", add_key("user", "wq-a", "one", 3, ring));
	expect_key(r, "add_key into ring: LINKED ring/a", NOTIFY_KEY_LINKED, WATCH_RING, ring,
		   (uint32_t)a);

	/* Either end of the pipe names the queue. */
	must("keyctl_watch_key(a, id 2) on fds[1]", keyctl_watch_key(a, fds[1], WATCH_KEY));
	ok("keyctl_watch_key(a, id 2) on fds[1]");

	must("keyctl_update(a)", keyctl_update(a, "two", 3));
	expect_key(r, "keyctl_update: UPDATED a", NOTIFY_KEY_UPDATED, WATCH_KEY, a, 0);

	again = must("add_key user a again", add_key("user", "wq-a", "three", 5, ring));
	if (again != a)
		fail("add_key of an existing key", "got key %d, expected %d", again, a);
	expect_key(r, "add_key over an existing key: UPDATED a", NOTIFY_KEY_UPDATED,
		   WATCH_KEY, a, 0);

	must("keyctl_setperm(a)", keyctl_setperm(a, perm));
	expect_key(r, "keyctl_setperm: SETATTR a", NOTIFY_KEY_SETATTR, WATCH_KEY, a, 0);

	b = must("add_key user b", add_key("user", "wq-b", "x", 1, KEY_SPEC_PROCESS_KEYRING));
	must("keyctl_link(b, ring)", keyctl_link(b, ring));
	expect_key(r, "keyctl_link: LINKED ring/b", NOTIFY_KEY_LINKED, WATCH_RING, ring,
		   (uint32_t)b);
	must("keyctl_unlink(b, ring)", keyctl_unlink(b, ring));
	expect_key(r, "keyctl_unlink: UNLINKED ring/b", NOTIFY_KEY_UNLINKED, WATCH_RING, ring,
		   (uint32_t)b);

	must("keyctl_revoke(a)", keyctl_revoke(a));
	expect_key(r, "keyctl_revoke: REVOKED a", NOTIFY_KEY_REVOKED, WATCH_KEY, a, 0);

	/*
	 * The ring held a's last reference: a is destroyed and its watcher
	 * told so. CLEARED itself is filtered out.
	 */
	must("keyctl_clear(ring)", keyctl_clear(ring));
	expect_removal(r, "keyctl_clear destroys a: removal of watch 2 (CLEARED filtered)",
		       WATCH_KEY, a);

	must("keyctl_setperm(ring)", keyctl_setperm(ring, perm));
	expect_key(r, "keyctl_setperm: SETATTR ring", NOTIFY_KEY_SETATTR, WATCH_RING, ring, 0);

	must("keyctl_watch_key(ring, -1)", keyctl_watch_key(ring, r->fd, -1));
	expect_removal(r, "keyctl_watch_key(ring, -1): removal of watch 1", WATCH_RING, ring);
	must_fail("keyctl_watch_key(ring, -1) again -> EBADSLT",
		  keyctl_watch_key(ring, r->fd, -1), EBADSLT);

	expect_quiet(r, "nothing else queued");

	keyctl_unlink(b, KEY_SPEC_PROCESS_KEYRING);
	keyctl_unlink(ring, KEY_SPEC_PROCESS_KEYRING);
	close(fds[0]);
	close(fds[1]);
	free(r);
	finish();
}
