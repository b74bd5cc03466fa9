// SPDX-License-Identifier: LGPL-2.1-or-later
// Compile-time checks that what the compat library hands to unmodified
// programs is upstream's ABI: the device's ioctls and records against
// <linux/watch_queue.h>, the keyctl constants against <linux/keyctl.h>.
//
// A translation unit of its own because <linux/watch_queue.h> pulls in
// <linux/fcntl.h>, which cannot be combined with glibc's <fcntl.h> (used by
// compat_logic.h). It produces no code.
#include <cstddef>

#include <linux/keyctl.h>
#include <linux/watch_queue.h>
#include <linux/wq_dev.h>

// compat_logic.h's constants, repeated: that header cannot be included here.
static_assert(KEYCTL_CAPABILITIES == 31);
static_assert(KEYCTL_WATCH_KEY == 32);
static_assert(KEYCTL_CAPS1_NOTIFICATIONS == 0x04);

// The ioctls an unmodified program issues on the fd it got from pipe2().
static_assert(WQ_IOC_SET_SIZE == IOC_WATCH_QUEUE_SET_SIZE);
static_assert(WQ_IOC_SET_FILTER == IOC_WATCH_QUEUE_SET_FILTER);

// Record types and subtypes: enumerators of different enums, compared as
// integers.
constexpr bool same_value(long ours, long upstream) {
    return ours == upstream;
}
static_assert(same_value(WQ_TYPE_META, WATCH_TYPE_META));
static_assert(same_value(WQ_TYPE_KEY, WATCH_TYPE_KEY_NOTIFY));
static_assert(same_value(WQ_META_REMOVAL, WATCH_META_REMOVAL_NOTIFICATION));
static_assert(same_value(WQ_META_LOSS, WATCH_META_LOSS_NOTIFICATION));
static_assert(same_value(WQ_KEY_INSTANTIATED, NOTIFY_KEY_INSTANTIATED));
static_assert(same_value(WQ_KEY_UPDATED, NOTIFY_KEY_UPDATED));
static_assert(same_value(WQ_KEY_LINKED, NOTIFY_KEY_LINKED));
static_assert(same_value(WQ_KEY_UNLINKED, NOTIFY_KEY_UNLINKED));
static_assert(same_value(WQ_KEY_CLEARED, NOTIFY_KEY_CLEARED));
static_assert(same_value(WQ_KEY_REVOKED, NOTIFY_KEY_REVOKED));
static_assert(same_value(WQ_KEY_INVALIDATED, NOTIFY_KEY_INVALIDATED));
static_assert(same_value(WQ_KEY_SETATTR, NOTIFY_KEY_SETATTR));

// Header bits.
static_assert(WQ_INFO_LENGTH == WATCH_INFO_LENGTH);
static_assert(WQ_INFO_ID == WATCH_INFO_ID);
static_assert(WQ_INFO_ID__SHIFT == WATCH_INFO_ID__SHIFT);
static_assert(WQ_INFO_TYPE_INFO == WATCH_INFO_TYPE_INFO);

// Layouts.
static_assert(sizeof(struct wq_notification) == sizeof(struct watch_notification));
static_assert(offsetof(struct wq_notification, info) == offsetof(struct watch_notification, info));
static_assert(sizeof(struct wq_key_notification) == sizeof(struct key_notification));
static_assert(offsetof(struct wq_key_notification, key_id) ==
              offsetof(struct key_notification, key_id));
static_assert(offsetof(struct wq_key_notification, aux) == offsetof(struct key_notification, aux));
static_assert(sizeof(struct wq_removal_notification) == sizeof(struct watch_notification_removal));
static_assert(offsetof(struct wq_removal_notification, id) ==
              offsetof(struct watch_notification_removal, id));
static_assert(sizeof(struct wq_notification_type_filter) ==
              sizeof(struct watch_notification_type_filter));
static_assert(offsetof(struct wq_notification_type_filter, subtype_filter) ==
              offsetof(struct watch_notification_type_filter, subtype_filter));
static_assert(sizeof(struct wq_notification_filter) == sizeof(struct watch_notification_filter));
static_assert(offsetof(struct wq_notification_filter, filters) ==
              offsetof(struct watch_notification_filter, filters));
