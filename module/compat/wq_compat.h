/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One wrapper per kernel API that changed between the supported kernels.
 * HAVE_* macros come from the build-time probes in compat/Kbuild.probes.
 */
#ifndef _WQ_COMPAT_H
#define _WQ_COMPAT_H

#include <linux/mm.h>

/*
 * 6.3 made vma->vm_flags const and added vm_flags_set()/vm_flags_clear()
 * (commit bc292ab00f6c "mm: introduce vma->vm_flags wrapper functions").
 */
#ifdef HAVE_VM_FLAGS_SET
static inline void wq_vm_flags_set(struct vm_area_struct *vma, vm_flags_t f)
{
	vm_flags_set(vma, f);
}

static inline void wq_vm_flags_clear(struct vm_area_struct *vma, vm_flags_t f)
{
	vm_flags_clear(vma, f);
}
#else
static inline void wq_vm_flags_set(struct vm_area_struct *vma, vm_flags_t f)
{
	vma->vm_flags |= f;
}

static inline void wq_vm_flags_clear(struct vm_area_struct *vma, vm_flags_t f)
{
	vma->vm_flags &= ~f;
}
#endif

#endif /* _WQ_COMPAT_H */
