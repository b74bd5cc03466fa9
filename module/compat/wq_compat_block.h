/* SPDX-License-Identifier: GPL-2.0 */
/* Block API differences (see compat/Kbuild.probes for the HAVE_* probes). */
#ifndef _WQ_COMPAT_BLOCK_H
#define _WQ_COMPAT_BLOCK_H

#include <linux/blk-mq.h>
#include <linux/blk_types.h>

/*
 * 6.5 renamed BLK_STS_NEXUS to BLK_STS_RESV_CONFLICT, keeping its number
 * (6) and meaning, a SCSI reservation conflict ("block: Rename
 * BLK_STS_NEXUS to BLK_STS_RESV_CONFLICT").
 */
#ifdef HAVE_BLK_STS_RESV_CONFLICT
#define WQ_BLK_STS_NEXUS	BLK_STS_RESV_CONFLICT
#else
#define WQ_BLK_STS_NEXUS	BLK_STS_NEXUS
#endif

/*
 * 5.17 removed struct request's rq_disk ("block: remove rq_disk"): the
 * disk is the queue's, rq->q->disk.
 */
static inline struct gendisk *wq_rq_disk(struct request *rq)
{
#ifdef HAVE_REQUEST_RQ_DISK
	return rq->rq_disk;
#else
	return rq->q->disk;
#endif
}

/*
 * What tells one disk from another that later gets the same device
 * number: 5.15 added struct gendisk::diskseq ("block: add a sequence
 * number to disks"), unique until reboot and renewed when the medium
 * changes.  On 5.10 the gendisk's address stands in: unique only while
 * the gendisk exists, so disk watches also hook its release (wq_block.c).
 */
static inline u64 wq_disk_key(const struct gendisk *disk)
{
#ifdef HAVE_GENDISK_DISKSEQ
	return disk->diskseq;
#else
	return (unsigned long)disk;
#endif
}

/*
 * False once del_gendisk() has unhashed the disk: 5.15 added disk_live();
 * before, del_gendisk() cleared GENHD_FL_UP.
 */
static inline bool wq_disk_live(struct gendisk *disk)
{
#ifdef HAVE_DISK_LIVE
	return disk_live(disk);
#else
	return disk->flags & GENHD_FL_UP;
#endif
}

#endif /* _WQ_COMPAT_BLOCK_H */
