/*
 * rseq_list.h (x86-64) - the restartable sequences of os/rseq_list.h:
 * pop, push, pop-many, push-many and a counter bump on this CPU's list,
 * each committed with one store, each restarted by the kernel if the thread
 * is preempted, migrated or signalled before that store.  Included by
 * os/rseq_list.h only, after struct rseq_list; the abort handlers carry
 * the one rseq signature, LAB_OS_RSEQ_SIG (os.h).
 */
#ifndef LAB_OS_ARCH_X86_64_RSEQ_LIST_H
#define LAB_OS_ARCH_X86_64_RSEQ_LIST_H

#include "base/compiler.h"
#include "os/os.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Each sequence: publish its descriptor in rseq_cs, then from label 1 read
 * the CPU, find that CPU's set (sets + cpu * stride), leave if a drainer
 * holds it, do the work in registers and scratch, and commit with one store
 * of the count just before label 2.  The abort handler, preceded by glibc's
 * signature, reports RSEQ_LIST_ABORTED and the caller starts again.  The
 * stride is an immediate when the caller's is a constant.
 */
/* Publish the descriptor (labels 1, 2, 4) and, from 1, find this CPU's
 * set: rax = sets + cpu_id_start * stride. */
#define RSEQ_START                                                      \
	".pushsection __rseq_cs, \"aw\"\n\t"                            \
	".balign 32\n\t"                                                \
	"3:\n\t"                                                        \
	".long 0, 0\n\t"                                                \
	".quad 1f, 2f - 1f, 4f\n\t"                                     \
	".popsection\n\t"                                               \
	"leaq 3b(%%rip), %%rax\n\t"                                     \
	"movq %%rax, 8(%[rs])\n\t"                                      \
	"1:\n\t"                                                        \
	"movl (%[rs]), %%eax\n\t"          /* cpu_id_start */           \
	"imulq %[stride], %%rax\n\t"                                    \
	"addq %[sets], %%rax\n\t"

/* RSEQ_START, then leave if a drainer holds the set; rax = the list. */
#define RSEQ_PROLOGUE                                                   \
	RSEQ_START                                                      \
	"movl $2, %[st]\n\t"               /* RSEQ_LIST_LOCKED */       \
	"cmpl $0, (%%rax)\n\t"                                          \
	"jne 2f\n\t"                                                    \
	"addq %[loff], %%rax\n\t"          /* rax = this CPU's list */

#define RSEQ_EPILOGUE                                                   \
	"2:\n\t"                                                        \
	".pushsection __rseq_failure, \"ax\"\n\t"                       \
	".byte 0x0f, 0xb9, 0x3d\n\t"                                    \
	".long " LAB_STRINGIFY(LAB_OS_RSEQ_SIG) "\n\t"                   \
	"4:\n\t"                                                        \
	"movl $3, %[st]\n\t"               /* RSEQ_LIST_ABORTED */      \
	"jmp 2b\n\t"                                                    \
	".popsection\n\t"

/* Operands every sequence has: its status, the thread's rseq area, the
 * sets, their stride (an immediate when the caller's is a constant) and
 * the list's offset in a set. */
#define RSEQ_STATUS   [st] "=&r"(st)
#define RSEQ_INPUTS   [rs] "r"(rs), [sets] "r"(sets), [stride] "ri"(stride), [loff] "r"(loff)
/* What the many-item sequences use besides. */
#define RSEQ_MANY_CLOBBERS "rax", "rcx", "rdx", "r8", "r9", "r11", "memory", "cc"

/* Copy k = edx items, r9 counting up from 0: from src to dst (operands),
 * pre before each; then publish k and commit the count (ecx). */
#define RSEQ_COPY_AND_COMMIT(pre, src, dst, post)                       \
	"xorl %%r9d, %%r9d\n\t"                                         \
	"5:\n\t"                                                        \
	pre                                                             \
	"movq " src ", %%r11\n\t"                                       \
	"movq %%r11, " dst "\n\t"                                       \
	"incl %%r9d\n\t"                                                \
	"cmpl %%edx, %%r9d\n\t"                                         \
	"jb 5b\n\t"                                                     \
	post                                                            \
	"movl %%edx, %[k]\n\t"                                          \
	"xorl %[st], %[st]\n\t"                                         \
	"movl %%ecx, (%%rax)\n\t"            /* commit */

static inline int rseq_list_pop(struct lab__os_rseq *rs, void *sets, size_t stride, size_t loff,
				void **out)
{
	int st;
	void *item = NULL;
	__asm__ __volatile__(
		RSEQ_PROLOGUE
		"movl $1, %[st]\n\t"                 /* RSEQ_LIST_EMPTY */
		"movl (%%rax), %%ecx\n\t"
		"testl %%ecx, %%ecx\n\t"
		"jz 2f\n\t"
		"movq 8(%%rax), %%rdx\n\t"
		"movq -8(%%rdx,%%rcx,8), %[item]\n\t"
		"decl %%ecx\n\t"
		"xorl %[st], %[st]\n\t"
		"movl %%ecx, (%%rax)\n\t"            /* commit */
		RSEQ_EPILOGUE
		: RSEQ_STATUS, [item] "=&r"(item)
		: RSEQ_INPUTS
		: "rax", "rcx", "rdx", "memory", "cc");
	*out = item;
	return st;
}

static inline int rseq_list_push(struct lab__os_rseq *rs, void *sets, size_t stride, size_t loff,
				 void *item)
{
	int st;
	__asm__ __volatile__(
		RSEQ_PROLOGUE
		"movl $1, %[st]\n\t"                 /* full: RSEQ_LIST_EMPTY means "no room" here */
		"movl (%%rax), %%ecx\n\t"
		"cmpl 4(%%rax), %%ecx\n\t"
		"jae 2f\n\t"
		"movq 8(%%rax), %%rdx\n\t"
		"movq %[item], (%%rdx,%%rcx,8)\n\t"  /* unpublished until the commit */
		"incl %%ecx\n\t"
		"xorl %[st], %[st]\n\t"
		"movl %%ecx, (%%rax)\n\t"            /* commit */
		RSEQ_EPILOGUE
		: RSEQ_STATUS
		: RSEQ_INPUTS, [item] "r"(item)
		: "rax", "rcx", "rdx", "memory", "cc");
	return st;
}

/* Pop up to max items, newest first, into buf; *nr gets how many. */
static inline int rseq_list_pop_many(struct lab__os_rseq *rs, void *sets, size_t stride, size_t loff,
				     void **buf, uint32_t max, uint32_t *nr)
{
	int st;
	uint32_t k = 0;
	__asm__ __volatile__(
		RSEQ_PROLOGUE
		"movl $1, %[st]\n\t"
		"movl (%%rax), %%ecx\n\t"            /* count */
		"movl %[max], %%edx\n\t"
		"cmpl %%ecx, %%edx\n\t"
		"cmova %%ecx, %%edx\n\t"             /* k = min(max, count) */
		"testl %%edx, %%edx\n\t"
		"jz 2f\n\t"
		"movq 8(%%rax), %%r8\n\t"            /* slots */
		/* buf[i] = slots[count - 1 - i] */
		RSEQ_COPY_AND_COMMIT("decl %%ecx\n\t", "(%%r8,%%rcx,8)", "(%[buf],%%r9,8)", "")
		RSEQ_EPILOGUE
		: RSEQ_STATUS, [k] "+m"(k)
		: RSEQ_INPUTS, [buf] "r"(buf), [max] "r"(max)
		: RSEQ_MANY_CLOBBERS);
	*nr = k;
	return st;
}

/* Push up to n items from buf while there is room; *nr gets how many. */
static inline int rseq_list_push_many(struct lab__os_rseq *rs, void *sets, size_t stride, size_t loff,
				      void *const *buf, uint32_t n, uint32_t *nr)
{
	int st;
	uint32_t k = 0;
	__asm__ __volatile__(
		RSEQ_PROLOGUE
		"movl $1, %[st]\n\t"
		"movl (%%rax), %%ecx\n\t"            /* count */
		"movl 4(%%rax), %%edx\n\t"           /* high */
		"subl %%ecx, %%edx\n\t"              /* room (count <= high always) */
		"cmpl %[n], %%edx\n\t"
		"cmova %[n], %%edx\n\t"              /* k = min(room, n) */
		"testl %%edx, %%edx\n\t"
		"jz 2f\n\t"
		"movq 8(%%rax), %%r8\n\t"
		"leaq (%%r8,%%rcx,8), %%r8\n\t"      /* &slots[count] */
		/* slots[count + i] = buf[i]; count += k */
		RSEQ_COPY_AND_COMMIT("", "(%[buf],%%r9,8)", "(%%r8,%%r9,8)", "addl %%edx, %%ecx\n\t")
		RSEQ_EPILOGUE
		: RSEQ_STATUS, [k] "+m"(k)
		: RSEQ_INPUTS, [buf] "r"(buf), [n] "r"(n)
		: RSEQ_MANY_CLOBBERS);
	*nr = k;
	return st;
}

/* One more per-CPU counter (the 64-bit word at offset off of this CPU's set),
 * in a sequence of its own: a signal handler that bumps the same counter
 * between our load and store cannot be lost (after RSEQ_MAX_RETRIES
 * interruptions in a row the count is given up). */
static inline void rseq_list_count(struct lab__os_rseq *rs, void *sets, size_t stride, size_t off)
{
	int st, tries = 0;
	do {
		__asm__ __volatile__(
			RSEQ_START
			"addq %[off], %%rax\n\t"
			"movq (%%rax), %%rcx\n\t"
			"incq %%rcx\n\t"
			"xorl %[st], %[st]\n\t"
			"movq %%rcx, (%%rax)\n\t"          /* commit */
			RSEQ_EPILOGUE
			: RSEQ_STATUS
			: [rs] "r"(rs), [sets] "r"(sets), [stride] "ri"(stride), [off] "r"(off)
			: "rax", "rcx", "memory", "cc");
	} while (st == RSEQ_LIST_ABORTED && ++tries < RSEQ_MAX_RETRIES);
}

#endif /* LAB_OS_ARCH_X86_64_RSEQ_LIST_H */
