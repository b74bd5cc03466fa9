/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ftrace callbacks that redirect a call (see compat/Kbuild.probes for the
 * HAVE_* probes).  WQ_HOOKS_WRAP is defined where the hook engine can use
 * them: x86's ftrace_caller lets a callback change the instruction
 * pointer with the argument registers saved (DYNAMIC_FTRACE_WITH_ARGS,
 * 5.11+), and the kernel exports what a module needs to undo it cleanly.
 */
#ifndef _WQ_COMPAT_FTRACE_H
#define _WQ_COMPAT_FTRACE_H

#include <linux/ftrace.h>
#include <linux/ptrace.h>

#if defined(CONFIG_DYNAMIC_FTRACE) && \
	defined(CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS) && \
	defined(CONFIG_X86_64) && \
	defined(HAVE_EXPORTED_FTRACE_FREE_FILTER_AND_RCU_TASKS)
#define WQ_HOOKS_WRAP 1

#ifdef HAVE_FTRACE_REGS_ACCESSORS
/* 6.6+: struct ftrace_regs is opaque */
#define wq_fregs_arg(fregs, n)		ftrace_regs_get_argument(fregs, n)
#define wq_fregs_set_ip(fregs, ip)	ftrace_regs_set_instruction_pointer(fregs, ip)
#else
/* 6.1: a pt_regs whose argument registers and ip ftrace_caller saved */
#define wq_fregs_arg(fregs, n)		regs_get_kernel_argument(&(fregs)->regs, n)
#define wq_fregs_set_ip(fregs, ip)	ftrace_instruction_pointer_set(fregs, ip)
#endif
#endif

#endif /* _WQ_COMPAT_FTRACE_H */
