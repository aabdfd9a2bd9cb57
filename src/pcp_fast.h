/*
 * pcp_fast.h - the per-CPU list layout and the restartable sequences that
 * push and pop on it, shared by pcp.c and the inline fast paths of alloc.c.
 * See pcp.c for the design.
 */
#ifndef LAB_PCP_FAST_H
#define LAB_PCP_FAST_H

#include "internal.h"

#include <stddef.h>

/* Restart a sequence at most this often before taking the buddy path. */
#define RSEQ_MAX_RETRIES 8

enum { PCP_OK = 0, PCP_EMPTY = 1, PCP_LOCKED = 2, PCP_ABORTED = 3 };

/* Layout known to the assembly below: keep offsets in sync (static_asserts). */
struct pcp_list {
	uint32_t count;             /* blocks on the list: the commit word */
	uint32_t high;              /* capacity: a full list drains a batch */
	struct lab_page **slots;
	uint32_t batch;             /* blocks moved per refill or drain */
	uint32_t spare;
};

struct pcp_set {
	_Atomic uint32_t lock;      /* held by a drainer (rseq) or by any user (lock mode) */
	uint32_t spare;
	struct pcp_list list[LAB_PCP_ORDERS];
	struct pcp_counters stat;
} __attribute__((aligned(64)));

#define PCP_SET_STRIDE ((int)sizeof(struct pcp_set))

static_assert(offsetof(struct pcp_set, lock) == 0, "asm: lock at 0");
static_assert(offsetof(struct pcp_list, count) == 0, "asm: count at 0");
static_assert(offsetof(struct pcp_list, high) == 4, "asm: high at 4");
static_assert(offsetof(struct pcp_list, slots) == 8, "asm: slots at 8");

/* ---- the restartable sequences (x86-64) ------------------------------- */

#if defined(LAB_PCP_HAVE_RSEQ)
/*
 * Each sequence: publish its descriptor in rseq_cs, then from label 1 read
 * the CPU, find that CPU's set, leave if a drainer holds it, do the work in
 * registers and scratch, and commit with one store of the count just before
 * label 2.  The abort handler, preceded by glibc's signature, reports
 * PCP_ABORTED and the caller starts again.
 */
#define RSEQ_PROLOGUE                                                   \
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
	"imulq %[stride], %%rax, %%rax\n\t"                             \
	"addq %[sets], %%rax\n\t"                                       \
	"movl $2, %[st]\n\t"               /* PCP_LOCKED */             \
	"cmpl $0, (%%rax)\n\t"                                          \
	"jne 2f\n\t"                                                    \
	"addq %[loff], %%rax\n\t"          /* rax = this CPU's list */

#define RSEQ_EPILOGUE                                                   \
	"2:\n\t"                                                        \
	".pushsection __rseq_failure, \"ax\"\n\t"                       \
	".byte 0x0f, 0xb9, 0x3d\n\t"                                    \
	".long 0x53053053\n\t"                                          \
	"4:\n\t"                                                        \
	"movl $3, %[st]\n\t"               /* PCP_ABORTED */            \
	"jmp 2b\n\t"                                                    \
	".popsection\n\t"

static inline int rseq_pop(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
			   struct lab_page **out)
{
	int st;
	struct lab_page *item = NULL;
	__asm__ __volatile__(
		RSEQ_PROLOGUE
		"movl $1, %[st]\n\t"                 /* PCP_EMPTY */
		"movl (%%rax), %%ecx\n\t"
		"testl %%ecx, %%ecx\n\t"
		"jz 2f\n\t"
		"movq 8(%%rax), %%rdx\n\t"
		"movq -8(%%rdx,%%rcx,8), %[item]\n\t"
		"decl %%ecx\n\t"
		"xorl %[st], %[st]\n\t"
		"movl %%ecx, (%%rax)\n\t"            /* commit */
		RSEQ_EPILOGUE
		: [st] "=&r"(st), [item] "=&r"(item)
		: [rs] "r"(rs), [sets] "r"(sets), [stride] "i"(PCP_SET_STRIDE), [loff] "r"(loff)
		: "rax", "rcx", "rdx", "memory", "cc");
	*out = item;
	return st;
}

static inline int rseq_push(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
			    struct lab_page *item)
{
	int st;
	__asm__ __volatile__(
		RSEQ_PROLOGUE
		"movl $1, %[st]\n\t"                 /* full: PCP_EMPTY means "no room" here */
		"movl (%%rax), %%ecx\n\t"
		"cmpl 4(%%rax), %%ecx\n\t"
		"jae 2f\n\t"
		"movq 8(%%rax), %%rdx\n\t"
		"movq %[item], (%%rdx,%%rcx,8)\n\t"  /* unpublished until the commit */
		"incl %%ecx\n\t"
		"xorl %[st], %[st]\n\t"
		"movl %%ecx, (%%rax)\n\t"            /* commit */
		RSEQ_EPILOGUE
		: [st] "=&r"(st)
		: [rs] "r"(rs), [sets] "r"(sets), [stride] "i"(PCP_SET_STRIDE), [loff] "r"(loff),
		  [item] "r"(item)
		: "rax", "rcx", "rdx", "memory", "cc");
	return st;
}

/* Pop up to max blocks, newest first, into buf; *nr gets how many. */
static inline int rseq_pop_many(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
				struct lab_page **buf, uint32_t max, uint32_t *nr)
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
		"xorl %%r9d, %%r9d\n\t"
		"5:\n\t"
		"decl %%ecx\n\t"
		"movq (%%r8,%%rcx,8), %%r11\n\t"    /* slots[count - 1 - i] */
		"movq %%r11, (%[buf],%%r9,8)\n\t"
		"incl %%r9d\n\t"
		"cmpl %%edx, %%r9d\n\t"
		"jb 5b\n\t"
		"movl %%edx, %[k]\n\t"
		"xorl %[st], %[st]\n\t"
		"movl %%ecx, (%%rax)\n\t"            /* commit */
		RSEQ_EPILOGUE
		: [st] "=&r"(st), [k] "+m"(k)
		: [rs] "r"(rs), [sets] "r"(sets), [stride] "i"(PCP_SET_STRIDE), [loff] "r"(loff),
		  [buf] "r"(buf), [max] "r"(max)
		: "rax", "rcx", "rdx", "r8", "r9", "r11", "memory", "cc");
	*nr = k;
	return st;
}

/* Push up to n blocks from buf while there is room; *nr gets how many. */
static inline int rseq_push_many(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
				 struct lab_page *const *buf, uint32_t n, uint32_t *nr)
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
		"xorl %%r9d, %%r9d\n\t"
		"5:\n\t"
		"movq (%[buf],%%r9,8), %%r11\n\t"
		"movq %%r11, (%%r8,%%r9,8)\n\t"     /* slots[count + i] */
		"incl %%r9d\n\t"
		"cmpl %%edx, %%r9d\n\t"
		"jb 5b\n\t"
		"addl %%edx, %%ecx\n\t"
		"movl %%edx, %[k]\n\t"
		"xorl %[st], %[st]\n\t"
		"movl %%ecx, (%%rax)\n\t"            /* commit */
		RSEQ_EPILOGUE
		: [st] "=&r"(st), [k] "+m"(k)
		: [rs] "r"(rs), [sets] "r"(sets), [stride] "i"(PCP_SET_STRIDE), [loff] "r"(loff),
		  [buf] "r"(buf), [n] "r"(n)
		: "rax", "rcx", "rdx", "r8", "r9", "r11", "memory", "cc");
	*nr = k;
	return st;
}
/* One more per-CPU counter, in a sequence of its own: a signal handler that
 * bumps the same counter between our load and store cannot be lost (after
 * RSEQ_MAX_RETRIES interruptions in a row the count is given up). */
static inline void rseq_count(struct lab__os_rseq *rs, struct pcp_set *sets, size_t off)
{
	int st, tries = 0;
	do {
		__asm__ __volatile__(
			".pushsection __rseq_cs, \"aw\"\n\t"
			".balign 32\n\t"
			"3:\n\t"
			".long 0, 0\n\t"
			".quad 1f, 2f - 1f, 4f\n\t"
			".popsection\n\t"
			"leaq 3b(%%rip), %%rax\n\t"
			"movq %%rax, 8(%[rs])\n\t"
			"1:\n\t"
			"movl (%[rs]), %%eax\n\t"
			"imulq %[stride], %%rax, %%rax\n\t"
			"addq %[sets], %%rax\n\t"
			"addq %[off], %%rax\n\t"
			"movq (%%rax), %%rcx\n\t"
			"incq %%rcx\n\t"
			"xorl %[st], %[st]\n\t"
			"movq %%rcx, (%%rax)\n\t"          /* commit */
			RSEQ_EPILOGUE
			: [st] "=&r"(st)
			: [rs] "r"(rs), [sets] "r"(sets), [stride] "i"(PCP_SET_STRIDE), [off] "r"(off)
			: "rax", "rcx", "memory", "cc");
	} while (st == PCP_ABORTED && ++tries < RSEQ_MAX_RETRIES);
}
#define PCP_COUNT(rs, z, field) rseq_count((rs), (z)->pcp, offsetof(struct pcp_set, stat.field))
#endif /* LAB_PCP_HAVE_RSEQ */

static inline struct pcp_set *set_at(const struct lab_zone *z, unsigned int i)
{
	return (struct pcp_set *)((char *)z->pcp + (size_t)i * PCP_SET_STRIDE);
}

static inline size_t list_offset(unsigned int order)
{
	return offsetof(struct pcp_set, list) + order * sizeof(struct pcp_list);
}

/* Counters of a set, bumped without atomics by whoever owns the set now
 * (lock mode: under the set's lock, which a signal handler cannot take). */
#define PCP_STAT_INC(set, field) \
	__atomic_store_n(&(set)->stat.field, __atomic_load_n(&(set)->stat.field, __ATOMIC_RELAXED) + 1, \
			 __ATOMIC_RELAXED)

/* This thread's rseq area, looked up once (NULL: not registered). */
extern _Thread_local struct lab__os_rseq *lab__my_rseq __attribute__((tls_model("initial-exec")));
extern _Thread_local bool lab__my_rseq_known __attribute__((tls_model("initial-exec")));

static inline struct lab__os_rseq *rseq_self(void)
{
	if (unlikely(!lab__my_rseq_known)) {
		lab__my_rseq = lab__os_rseq_self();
		lab__my_rseq_known = true;
	}
	return lab__my_rseq;
}

#endif /* LAB_PCP_FAST_H */
