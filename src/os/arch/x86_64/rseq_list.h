/*
 * rseq_list.h (x86-64) - the restartable sequences of os/rseq_list.h:
 * pop, push (also as a push that refuses the newest item again), pop-many
 * and push-many on this CPU's counted list, and a counter bump, each
 * committed with one store, each restarted by the kernel if the thread is
 * preempted, migrated or signalled before that store.  Included by
 * os/rseq_list.h only, after struct rseq_clist; the abort handlers carry
 * the one rseq signature, LAB_OS_RSEQ_SIG (os.h).
 */
#ifndef LAB_OS_ARCH_X86_64_RSEQ_LIST_H
#define LAB_OS_ARCH_X86_64_RSEQ_LIST_H

#include "base/compiler.h"
#include "os/os.h"

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Each sequence: publish its descriptor in rseq_cs, then from label 1 read
 * the CPU, find that CPU's set (sets + cpu << shift for a counted list,
 * sets + cpu * stride for a counter), leave if a drainer holds it, do the
 * work in registers and scratch, and commit with one store of the list's
 * word just before label 2.  The abort handler, preceded by glibc's
 * signature, reports RSEQ_LIST_ABORTED and the caller starts again.
 */
/* Publish the descriptor (labels 1, 2, 4) and, from 1, read this CPU's
 * number: eax = cpu_id_start (RSEQ_PUBLISH); RSEQ_CPU then leaves with
 * RSEQ_LIST_LOCKED (the locked path) when it is not below
 * lab__os_cpu_bound, the number of sets (a CPU outside the possible mask
 * must not index past them). */
#define RSEQ_PUBLISH                                                    \
	".pushsection __rseq_cs, \"aw\"\n\t"                            \
	".balign 32\n\t"                                                \
	"3:\n\t"                                                        \
	".long 0, 0\n\t"                                                \
	".quad 1f, 2f - 1f, 4f\n\t"                                     \
	".popsection\n\t"                                               \
	"leaq 3b(%%rip), %%rax\n\t"                                     \
	"movq %%rax, 8(%[rs])\n\t"                                      \
	"1:\n\t"                                                        \
	"movl (%[rs]), %%eax\n\t"          /* cpu_id_start */
#define RSEQ_CPU_TO(locked, out)                                        \
	RSEQ_PUBLISH                                                    \
	locked                                                          \
	"cmpl %[ncpu], %%eax\n\t"                                      \
	"jae " out "\n\t"
#define RSEQ_CPU RSEQ_CPU_TO("movl $2, %[st]\n\t" /* RSEQ_LIST_LOCKED */, "2f")

/* RSEQ_CPU, then rax = this CPU's set: sets + cpu_id_start * stride. */
#define RSEQ_START                                                      \
	RSEQ_CPU                                                        \
	"imulq %[stride], %%rax\n\t"                                    \
	"addq %[sets], %%rax\n\t"

/* Leave if a drainer holds the set (rax), st still RSEQ_LIST_LOCKED from
 * RSEQ_CPU; then rax = the list. */
#define RSEQ_UNLOCKED_LIST_TO(out)                                      \
	"cmpl $0, (%%rax)\n\t"                                          \
	"jne " out "\n\t"                                               \
	"addq %[loff], %%rax\n\t"          /* rax = this CPU's list */
#define RSEQ_UNLOCKED_LIST RSEQ_UNLOCKED_LIST_TO("2f")

/* Label 2 (past the commit) and the abort handler at 4, preceded by the
 * signature, running `handler'. */
#define RSEQ_EPILOGUE_WITH(handler)                                     \
	"2:\n\t"                                                        \
	".pushsection __rseq_failure, \"ax\"\n\t"                       \
	".byte 0x0f, 0xb9, 0x3d\n\t"                                    \
	".long " LAB_STRINGIFY(LAB_OS_RSEQ_SIG) "\n\t"                   \
	"4:\n\t"                                                        \
	handler                                                         \
	".popsection\n\t"
#define RSEQ_EPILOGUE                                                   \
	RSEQ_EPILOGUE_WITH("movl $3, %[st]\n\t" /* RSEQ_LIST_ABORTED */ "jmp 2b\n\t")

/* The status every sequence reports. */
#define RSEQ_STATUS   [st] "=&r"(st)
/* The number of sets, for RSEQ_CPU's bound check. */
#define RSEQ_BOUND    [ncpu] "m"(lab__os_cpu_bound)
/* What the many-item sequences use besides. */
#define RSEQ_MANY_CLOBBERS "rax", "rcx", "rdx", "r8", "r9", "r11", "memory", "cc"

/* Copy k = edx items, r9 counting up from 0: from src to dst (operands),
 * pre before each; then post, publish k and commit with the store `commit'
 * (the word in r10 for a counted list). */
#define RSEQ_COPY_AND_COMMIT_WITH(pre, src, dst, post, commit)          \
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
	commit

/* With ecx = count: edx = k = min(max, count), leaving if 0; r8 = slots. */
#define RSEQ_TAKE                                                       \
	"movl %[max], %%edx\n\t"                                        \
	"cmpl %%ecx, %%edx\n\t"                                         \
	"cmova %%ecx, %%edx\n\t"             /* k = min(max, count) */  \
	"testl %%edx, %%edx\n\t"                                        \
	"jz 2f\n\t"                                                     \
	"movq 8(%%rax), %%r8\n\t"            /* slots */

/* With ecx = count and the capacity at offset high of the list: edx = k =
 * min(room, n), leaving if 0; r8 = &slots[count]. */
#define RSEQ_ROOM(high)                                                 \
	"movl " high "(%%rax), %%edx\n\t"    /* high */                 \
	"subl %%ecx, %%edx\n\t"              /* room */                 \
	"jbe 2f\n\t"                         /* none: high <= count */  \
	"cmpl %[n], %%edx\n\t"                                          \
	"cmova %[n], %%edx\n\t"              /* k = min(room, n) */     \
	"testl %%edx, %%edx\n\t"                                        \
	"jz 2f\n\t"                                                     \
	"movq 8(%%rax), %%r8\n\t"                                       \
	"leaq (%%r8,%%rcx,8), %%r8\n\t"      /* &slots[count] */

/* ---- counted lists ------------------------------------------------------
 * The commit word is 64 bits: the count in its low 16 (the counted list's
 * slot index, read with movzwl from the one 64-bit load: a list's word is
 * never accessed at another width, as a narrower store followed by a wider
 * load stalls store forwarding), the pops above.  The sets are 2^shift bytes
 * apart, found with a shift instead of a multiply; the shift must be an
 * immediate (a register count needs %cl, which the sequences use, or BMI2),
 * so each family of sequences is generated for one shift by RSEQ_CLIST_FNS
 * below.  The list's offset in a set is usually a constant. */
#define RSEQ_CLIST_INPUTS [rs] "r"(rs), [sets] "r"(sets), [loff] "rmi"(loff), RSEQ_BOUND

/* RSEQ_CPU, then rax = this CPU's set (sets + cpu << shift); leave if a
 * drainer holds it; rax = the list. */
#define RSEQ_CLIST_SET(shift)                                           \
	"shlq $" LAB_STRINGIFY(shift) ", %%rax\n\t"                     \
	"addq %[sets], %%rax\n\t"
#define RSEQ_CLIST_PROLOGUE(shift)                                      \
	RSEQ_CPU RSEQ_CLIST_SET(shift) RSEQ_UNLOCKED_LIST
/* The same, storing the CPU's number in the output [cpu] first: the
 * many-item sequences say which set they committed on (the slow paths
 * count what they move per set). */
#define RSEQ_CLIST_PROLOGUE_CPU(shift)                                  \
	RSEQ_CPU "movl %%eax, %[cpu]\n\t" RSEQ_CLIST_SET(shift) RSEQ_UNLOCKED_LIST

/* The pop, on the list at rax: `empty' before leaving for `out' when there
 * is nothing, `ok' before the commit.  One commit of count - 1 and pops + 1. */
#define RSEQ_CLIST_POP_BODY(empty, out, ok)                             \
	empty                                                           \
	"movq (%%rax), %%rcx\n\t"                                       \
	"movzwl %%cx, %%edx\n\t"                                        \
	"testl %%edx, %%edx\n\t"                                        \
	"jz " out "\n\t"                                                \
	"movq 8(%%rax), %%r8\n\t"                                       \
	"movq -8(%%r8,%%rdx,8), %[item]\n\t"                            \
	"addq $0xffff, %%rcx\n\t"    /* RSEQ_CLIST_ONE_POP */           \
	ok                                                              \
	"movq %%rcx, (%%rax)\n\t"    /* commit */

/* Pop one item and count the pop. */
#define RSEQ_CLIST_POP_FN(name, shift)                                  \
static inline int name(struct lab__os_rseq *rs, void *sets, size_t loff, void **out) \
{                                                                       \
	int st;                                                         \
	void *item = NULL;                                              \
	__asm__ __volatile__(                                           \
		RSEQ_CLIST_PROLOGUE(shift)                              \
		RSEQ_CLIST_POP_BODY("movl $1, %[st]\n\t" /* RSEQ_LIST_EMPTY */, "2f", \
				    "xorl %[st], %[st]\n\t")          \
		RSEQ_EPILOGUE                                           \
		: RSEQ_STATUS, [item] "=&r"(item)                       \
		: RSEQ_CLIST_INPUTS                                     \
		: "rax", "rcx", "rdx", "r8", "memory", "cc");           \
	*out = item;                                                    \
	return st;                                                      \
}

/*
 * Push item if there is room (count below high): name; with check
 * RSEQ_CLIST_UNIQUE it also refuses an item equal to the newest one on the
 * list (a double free of the object freed last): RSEQ_LIST_DUP, nothing
 * pushed.  check runs with edx = count, r8 = slots.  The count is below
 * high <= RSEQ_CLIST_MAX, so the increment never carries into the pops.
 * The body: `full' before leaving for `out' when there is no room, `ok'
 * before the commit.
 */
#define RSEQ_CLIST_PUSH_BODY(check, full, out, ok)                      \
	"movq (%%rax), %%rcx\n\t"                                       \
	"movzwl %%cx, %%edx\n\t"                                        \
	"movq 8(%%rax), %%r8\n\t"                                       \
	check                                                           \
	full                                                            \
	"cmpl 16(%%rax), %%edx\n\t"                                     \
	"jae " out "\n\t"                                               \
	"movq %[item], (%%r8,%%rdx,8)\n\t" /* unpublished until the commit */ \
	"incq %%rcx\n\t"                                                \
	ok                                                              \
	"movq %%rcx, (%%rax)\n\t"    /* commit */
#define RSEQ_CLIST_PUSH_FN(name, shift, check)                          \
static inline int name(struct lab__os_rseq *rs, void *sets, size_t loff, void *item) \
{                                                                       \
	int st;                                                         \
	__asm__ __volatile__(                                           \
		RSEQ_CLIST_PROLOGUE(shift)                              \
		RSEQ_CLIST_PUSH_BODY(check, "movl $1, %[st]\n\t" /* full */, "2f", \
				     "xorl %[st], %[st]\n\t")         \
		RSEQ_EPILOGUE                                           \
		: RSEQ_STATUS                                           \
		: RSEQ_CLIST_INPUTS, [item] "r"(item)                   \
		: "rax", "rcx", "rdx", "r8", "memory", "cc");           \
	return st;                                                      \
}
#define RSEQ_CLIST_UNIQUE                                               \
	"movl $4, %[st]\n\t"                 /* RSEQ_LIST_DUP, before "full" */ \
	"testl %%edx, %%edx\n\t"                                        \
	"jz 6f\n\t"                                                     \
	"cmpq %[item], -8(%%r8,%%rdx,8)\n\t"                            \
	"je 2f\n\t"                                                     \
	"6:\n\t"

/* Pop up to max items, newest first, into buf; *nr gets how many, *cpu the
 * set's index.  counted: they count as pops (a bulk allocation), else not
 * (a drain). */
#define RSEQ_CLIST_POP_MANY_FN(name, shift)                             \
static inline int name(struct lab__os_rseq *rs, void *sets, size_t loff, void **buf, \
		       uint32_t max, bool counted, uint32_t *nr, uint32_t *cpu) \
{                                                                       \
	int st;                                                         \
	uint32_t k = 0, on = 0;                                         \
	uint64_t per = counted ? RSEQ_CLIST_ONE_POP : (uint64_t)-1;  /* added k times */ \
	__asm__ __volatile__(                                           \
		RSEQ_CLIST_PROLOGUE_CPU(shift)                          \
		"movl $1, %[st]\n\t"                                    \
		"movq (%%rax), %%r10\n\t"    /* word */                 \
		"movzwl %%r10w, %%ecx\n\t"   /* count */                \
		RSEQ_TAKE                                               \
		/* buf[i] = slots[count - 1 - i]; word += per */        \
		RSEQ_COPY_AND_COMMIT_WITH("decl %%ecx\n\t" "addq %[per], %%r10\n\t", \
					  "(%%r8,%%rcx,8)", "(%[buf],%%r9,8)", "", \
					  "movq %%r10, (%%rax)\n\t")    \
		RSEQ_EPILOGUE                                           \
		: RSEQ_STATUS, [k] "+m"(k), [cpu] "+m"(on)              \
		: RSEQ_CLIST_INPUTS, [buf] "r"(buf), [max] "rm"(max), [per] "rm"(per) \
		: RSEQ_MANY_CLOBBERS, "r10");                           \
	*nr = k;                                                        \
	*cpu = on;                                                      \
	return st;                                                      \
}

/* Push up to n items from buf while there is room; *nr gets how many, *cpu
 * the set's index.  A high below the count (lowered a moment ago by a slow
 * path that does not own the set) means no room. */
#define RSEQ_CLIST_PUSH_MANY_FN(name, shift)                            \
static inline int name(struct lab__os_rseq *rs, void *sets, size_t loff, \
		       void *const *buf, uint32_t n, uint32_t *nr, uint32_t *cpu) \
{                                                                       \
	int st;                                                         \
	uint32_t k = 0, on = 0;                                         \
	__asm__ __volatile__(                                           \
		RSEQ_CLIST_PROLOGUE_CPU(shift)                          \
		"movl $1, %[st]\n\t"                                    \
		"movq (%%rax), %%r10\n\t"    /* word */                 \
		"movzwl %%r10w, %%ecx\n\t"   /* count */                \
		RSEQ_ROOM("16")                                         \
		/* slots[count + i] = buf[i]; word += k */              \
		RSEQ_COPY_AND_COMMIT_WITH("", "(%[buf],%%r9,8)", "(%%r8,%%r9,8)", \
					  "addq %%rdx, %%r10\n\t", "movq %%r10, (%%rax)\n\t") \
		RSEQ_EPILOGUE                                           \
		: RSEQ_STATUS, [k] "+m"(k), [cpu] "+m"(on)              \
		: RSEQ_CLIST_INPUTS, [buf] "r"(buf), [n] "rm"(n)        \
		: RSEQ_MANY_CLOBBERS, "r10");                           \
	*nr = k;                                                        \
	*cpu = on;                                                      \
	return st;                                                      \
}

/*
 * The fast paths' pop and push: the same sequences, but every way out other
 * than the commit (a drainer holds the set, empty, full, a CPU beyond the
 * sets, an abort) is one jump to the caller's label `miss' (asm goto): no
 * status register to set and test.  Their callers take another path on any
 * of those, so they need not tell which.
 */
#define RSEQ_EPILOGUE_GOTO RSEQ_EPILOGUE_WITH("jmp %l[miss]\n\t")
#define RSEQ_CLIST_PROLOGUE_GOTO(shift)                                 \
	RSEQ_CPU_TO("", "%l[miss]") RSEQ_CLIST_SET(shift) RSEQ_UNLOCKED_LIST_TO("%l[miss]")

/* Pop one item, counted as a pop; NULL for `any other way out'. */
#define RSEQ_CLIST_POP_FAST_FN(name, shift)                             \
static inline void *name(struct lab__os_rseq *rs, void *sets, size_t loff) \
{                                                                       \
	void *item;                                                     \
	__asm__ goto(                                                   \
		RSEQ_CLIST_PROLOGUE_GOTO(shift)                         \
		RSEQ_CLIST_POP_BODY("", "%l[miss]", "")                 \
		RSEQ_EPILOGUE_GOTO                                      \
		: [item] "=&r"(item)                                    \
		: RSEQ_CLIST_INPUTS                                     \
		: "rax", "rcx", "rdx", "r8", "memory", "cc"             \
		: miss);                                                \
	return item;                                                    \
miss:                                                                   \
	return NULL;                                                    \
}

/* Push item if there is room; false for `any other way out'. */
#define RSEQ_CLIST_PUSH_FAST_FN(name, shift)                            \
static inline bool name(struct lab__os_rseq *rs, void *sets, size_t loff, void *item) \
{                                                                       \
	__asm__ goto(                                                   \
		RSEQ_CLIST_PROLOGUE_GOTO(shift)                         \
		RSEQ_CLIST_PUSH_BODY("", "", "%l[miss]", "")            \
		RSEQ_EPILOGUE_GOTO                                      \
		:                                                       \
		: RSEQ_CLIST_INPUTS, [item] "r"(item)                   \
		: "rax", "rcx", "rdx", "r8", "memory", "cc"             \
		: miss);                                                \
	return true;                                                    \
miss:                                                                   \
	return false;                                                   \
}

/* The sequences on counted lists whose sets are 2^shift bytes apart:
 * pfx_pop, pfx_push, pfx_push_unique, pfx_pop_many_on, pfx_push_many_on,
 * pfx_pop_fast, pfx_push_fast. */
#define RSEQ_CLIST_FNS(pfx, shift)                                      \
	RSEQ_CLIST_POP_FN(pfx##_pop, shift)                             \
	RSEQ_CLIST_PUSH_FN(pfx##_push, shift, "")                       \
	RSEQ_CLIST_PUSH_FN(pfx##_push_unique, shift, RSEQ_CLIST_UNIQUE) \
	RSEQ_CLIST_POP_MANY_FN(pfx##_pop_many_on, shift)                \
	RSEQ_CLIST_PUSH_MANY_FN(pfx##_push_many_on, shift)              \
	RSEQ_CLIST_POP_FAST_FN(pfx##_pop_fast, shift)                   \
	RSEQ_CLIST_PUSH_FAST_FN(pfx##_push_fast, shift)

/* Sets of one cache line (the slab layer's per-CPU arrays). */
RSEQ_CLIST_FNS(rseq_clist, RSEQ_CLIST_SHIFT)
/* Sets of eight cache lines (the page layer's per-CPU sets). */
RSEQ_CLIST_FNS(rseq_clist8, RSEQ_CLIST8_SHIFT)

/* The one-line sets' many-item sequences without the set's index. */
static inline int rseq_clist_pop_many(struct lab__os_rseq *rs, void *sets, size_t loff,
				      void **buf, uint32_t max, bool counted, uint32_t *nr)
{
	uint32_t cpu;
	return rseq_clist_pop_many_on(rs, sets, loff, buf, max, counted, nr, &cpu);
}

static inline int rseq_clist_push_many(struct lab__os_rseq *rs, void *sets, size_t loff,
				       void *const *buf, uint32_t n, uint32_t *nr)
{
	uint32_t cpu;
	return rseq_clist_push_many_on(rs, sets, loff, buf, n, nr, &cpu);
}

/* One more per-CPU counter (the 64-bit word at offset off of this CPU's set),
 * in a sequence of its own: a signal handler that bumps the same counter
 * between our load and store cannot be lost.  False when it did not count:
 * a CPU beyond the sets, or RSEQ_MAX_RETRIES interruptions in a row. */
static inline bool rseq_list_count(struct lab__os_rseq *rs, void *sets, size_t stride, size_t off)
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
			: [rs] "r"(rs), [sets] "r"(sets), [stride] "ri"(stride), [off] "r"(off),
			  RSEQ_BOUND
			: "rax", "rcx", "memory", "cc");
	} while (st == RSEQ_LIST_ABORTED && ++tries < RSEQ_MAX_RETRIES);
	return st == RSEQ_LIST_OK;
}

#endif /* LAB_OS_ARCH_X86_64_RSEQ_LIST_H */
