/*
 * pcp.pml - a Promela model of one CPU's per-CPU list in rseq mode, checked
 * with spin for pages handed out twice, pages lost, and deadlock.
 *
 * Mirrors: rseq_pop() and rseq_push() in src/page/pcp.h (the thread), the
 * same sequences run by a signal handler or a thread that preempted it (the
 * striker), and own_set() + drain_set_owned() in src/page/pcp.c (the drainer on
 * another CPU, which takes the set's lock word, then issues
 * membarrier(PRIVATE_EXPEDITED_RSEQ) on this CPU).
 *
 * The kernel's guarantee is modelled by `aborted`: a signal, a preemption or
 * the membarrier IPI moves the sequence in flight to its abort handler at an
 * instruction boundary, so every step is
 *     atomic { if :: aborted -> goto restart :: else -> step fi }
 * and the restart clears the flag, as re-entering the sequence does.
 *
 * The commit word is a counted list's (struct rseq_clist): the count and,
 * above it, the single pops (the list's hits), stored together by the one
 * commit; `count' and `pops' below change in the same atomic step.  The
 * frees are not stored anywhere: they follow from the word and what the
 * slow paths moved (moved_in by refills, moved_out by drains, pcp.c
 * lab__pcp_counters), and the end checks both counters against ghost
 * tallies of the pops and pushes that really committed.
 *
 * Run: spin -a pcp.pml && cc -DSAFETY -o pan pan.c && ./pan
 */

#define NPAGES 3
#define CAP 3
#define ON_LIST 0
#define HELD 1
#define IN_BUDDY 2
#define NONE 255

byte slots[CAP];
byte count;
byte pops;            /* the word's high bits: single pops (hits) */
byte moved_in, moved_out;   /* pcp_set.moved_in/out: blocks refills pushed, drains popped */
byte hits, frees;     /* ghosts: single pops and pushes that committed */
bit lock;             /* pcp_set.lock */
byte state[NPAGES];
bit aborted;          /* the running sequence was moved to abort_ip */
byte strikes;

/* A signal handler or preempting thread on the same CPU: it aborts the
 * thread's sequence in flight, then allocates and frees one page with its
 * own sequences (lab_alloc_page(ATOMIC) ... lab_free_page()). */
proctype striker()
{
	byte hp = NONE;
	do
	:: strikes < 2 ->
		atomic {
			strikes++;
			aborted = 1;
			if
			:: lock == 0 && count > 0 ->           /* rseq_pop() hit */
				count--;
				pops++;                        /* the same commit */
				hits++;
				hp = slots[count];
				assert(state[hp] == ON_LIST);
				state[hp] = HELD
			:: else -> skip                        /* PCP_LOCKED or empty: buddy path */
			fi
		};
		if
		:: hp != NONE ->
			atomic {
				aborted = 1;
				if
				:: lock == 0 && count < CAP ->      /* rseq_push() */
					slots[count] = hp;
					count++;
					frees++;
					state[hp] = ON_LIST
				:: else -> state[hp] = IN_BUDDY      /* full or locked: to the buddy lists */
				fi;
				hp = NONE
			}
		:: else -> skip
		fi
	:: else -> break
	od
}

/* The thread: alternately pops a page and pushes it back, three times. */
proctype thread()
{
	byte p = NONE, n, rounds = 0;
	do
	:: rounds < 3 ->
		rounds++;
		if
		:: p == NONE ->
pop_restart:		aborted = 0;                     /* leaq 3b, rseq_cs; label 1 */
			atomic { if :: aborted -> goto pop_restart
				    :: else -> if :: lock -> goto pop_done :: else -> skip fi fi };
			atomic { if :: aborted -> goto pop_restart :: else -> n = count fi };
			if :: n == 0 -> goto pop_done :: else -> skip fi;
			atomic { if :: aborted -> goto pop_restart :: else -> p = slots[n - 1] fi };
			atomic {                         /* movl %ecx, (%rax): commit */
				if
				:: aborted -> p = NONE; goto pop_restart
				:: else ->
					count = n - 1;
					pops++;                        /* one store: count and pops */
					hits++;
					assert(state[p] == ON_LIST);   /* never handed out twice */
					state[p] = HELD
				fi
			};
pop_done:		skip
		:: p != NONE ->
push_restart:		aborted = 0;
			atomic { if :: aborted -> goto push_restart
				    :: else -> if :: lock -> goto push_buddy :: else -> skip fi fi };
			atomic { if :: aborted -> goto push_restart :: else -> n = count fi };
			if :: n >= CAP -> goto push_buddy :: else -> skip fi;
			/* the slot store is not published until the commit */
			atomic { if :: aborted -> goto push_restart :: else -> slots[n] = p fi };
			atomic {
				if
				:: aborted -> goto push_restart
				:: else ->
					count = n + 1;
					frees++;
					assert(state[p] == HELD);
					state[p] = ON_LIST;
					p = NONE
				fi
			};
			goto push_done;
push_buddy:		state[p] = IN_BUDDY;             /* lab__free_block() buddy path */
			p = NONE;
push_done:		skip
		fi
	:: else -> break
	od;
	if :: p != NONE -> state[p] = IN_BUDDY :: else -> skip fi
}

/* own_set(): lock, membarrier; drain_set_owned(): everything to the buddy. */
proctype drainer()
{
	byte k = 0;
	atomic { lock == 0 -> lock = 1 };
	aborted = 1;                  /* membarrier: a sequence in flight cannot go on */
	do
	:: k < count ->
		assert(state[slots[k]] == ON_LIST);
		state[slots[k]] = IN_BUDDY;
		k++
	:: else -> break
	od;
	count = 0;                    /* a drain's pops: not hits */
	moved_out = moved_out + k;    /* counted after the pops (count_moved) */
	lock = 0
}

init {
	byte i, k, seen;
	atomic {
		slots[0] = 0; slots[1] = 1; count = 2; moved_in = 2;   /* a refill listed two */
		state[0] = ON_LIST; state[1] = ON_LIST; state[2] = IN_BUDDY;
		run thread(); run striker(); run drainer()
	};
	(_nr_pr == 1);
	/* The counters derived from the word are exact: hits are its pops,
	 * frees what it holds and popped, less what refills pushed, plus what
	 * drains popped. */
	assert(pops == hits);
	assert(count + pops + moved_out - moved_in == frees);
	/* Conservation: a page is on the list exactly when it is in slots[0..count),
	 * exactly once; nobody holds one at the end. */
	i = 0;
	do
	:: i < NPAGES ->
		seen = 0;
		k = 0;
		do
		:: k < count -> if :: slots[k] == i -> seen++ :: else -> skip fi; k++
		:: else -> break
		od;
		assert(seen <= 1);
		assert((state[i] == ON_LIST) == (seen == 1));
		assert(state[i] != HELD);
		i++
	:: else -> break
	od
}
