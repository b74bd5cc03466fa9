/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fprobes (see compat/Kbuild.probes for the HAVE_* probes).  WQ_HOOKS_FPROBE
 * is defined where the hook engine can follow a function to its return
 * with an fprobe rather than a kretprobe: the kernel has CONFIG_FPROBE and
 * exports register_fprobe_syms() (Debian's 6.12 and later).
 */
#ifndef _WQ_COMPAT_FPROBE_H
#define _WQ_COMPAT_FPROBE_H

#if defined(CONFIG_FPROBE) && defined(CONFIG_X86_64) && \
	defined(HAVE_EXPORTED_REGISTER_FPROBE)
#include <linux/fprobe.h>
#include <linux/ftrace.h>
#include <linux/ptrace.h>
#define WQ_HOOKS_FPROBE 1

#ifdef HAVE_FPROBE_FTRACE_REGS
/* 6.14+: fprobe on function graph, the argument registers and the return */
#define wq_fprobe_regs			ftrace_regs	/* the struct's tag */
#define wq_fprobe_arg(regs, n)		ftrace_regs_get_argument(regs, n)
#define wq_fprobe_retval(regs)		ftrace_regs_get_return_value(regs)
#else
/* 6.12: a full pt_regs (fprobe asks ftrace for FTRACE_OPS_FL_SAVE_REGS) */
#define wq_fprobe_regs			pt_regs
#define wq_fprobe_arg(regs, n)		regs_get_kernel_argument(regs, n)
#define wq_fprobe_retval(regs)		regs_return_value(regs)
#endif

/*
 * Whether an fprobe is the cheaper way to follow a call to its return
 * (docs/benchmarks.md, "Hook kinds", counted under -icount): on 6.12
 * (fprobe on rethook) it saves about 65 instructions per declined entry
 * and 50 per followed call over a kretprobe.  6.14+ runs an fprobe with an
 * exit handler on function graph, which costs as much at the entry as a
 * kretprobe and about 110 more per followed call.
 */
#ifdef HAVE_FPROBE_FTRACE_REGS
#define WQ_FPROBE_PREFERRED	false
#else
#define WQ_FPROBE_PREFERRED	true
#endif

/* Calls followed at once: 6.12 allocates them up front, 6.14+ per task */
static inline void wq_fprobe_set_maxactive(struct fprobe *fp, unsigned int n)
{
#ifdef HAVE_FPROBE_NR_MAXACTIVE
	fp->nr_maxactive = n;
#endif
}
#endif

#endif /* _WQ_COMPAT_FPROBE_H */
