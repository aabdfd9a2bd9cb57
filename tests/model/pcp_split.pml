/*
 * pcp_split.pml - a Promela model of the local/remote split of the order
 * 0..3 free fast path (docs/PCP.md, "The local/remote split"), checked with
 * spin before any of it is written in C.
 *
 * The design: a block's state word holds its flags, its home CPU (the CPU
 * whose list handed it out), a generation bumped at each hand-out and a
 * nonce.  A free on the home CPU claims the block with a plain store INSIDE
 * the push's restartable sequence ({claimed, nonce of this call}); a free on
 * any other CPU never writes the word: it reads it once and queues
 * (block, generation) on the home CPU's ring, which the home CPU's own
 * sequences (the allocation path, before it pops) or a drainer owning the
 * home's set (lock word + membarrier: drain_all, kswapd, the final drain
 * below) process: claim if the word is still {allocated, home, that
 * generation}, else report.
 *
 * Processes.  CPU 0 is the home of every block (hand-outs happen there):
 *   owner    a thread on CPU 0: allocates twice (processing one ring entry
 *            first, as the allocation path will), gives its first block to
 *            the remote freer (in LEGIT mode), frees the others locally, and
 *            frees one of them a second time (a double free on one CPU);
 *   handler  a signal handler or a preempting thread on CPU 0, twice: each
 *            time it aborts the owner's sequence in flight and runs one
 *            operation to completion (one atomic step): a pure abort, an
 *            allocation and free of a block, a second free of the owner's
 *            block (a real double free from the same thread), or the
 *            processing of a ring entry;
 *   remote   a thread on CPU 1, one free: of the block the owner gave it
 *            (LEGIT: a remote free) or of either page at any time (DOUBLE:
 *            a racing or late double free).  It loads the word, reserves a
 *            ring slot (lock cmpxchg on the tail) and publishes the entry
 *            (one store): three steps, anything may run between them;
 *   drainer  drain_all/kswapd on another CPU: owns CPU 0's set (lock word,
 *            then membarrier, which aborts the sequence in flight),
 *            processes the ring, drains the list to the buddy lists, and
 *            unlocks when no claimer works under its ownership;
 *   locker   (-DLOCKER) lock_page()/unlock_page() of either page from CPU 1:
 *            atomic read-modify-writes of PG_locked in the same word;
 *   init     at the end, a final drain (as drain_all would), then the checks.
 *
 * While the set is owned, a free on CPU 0 cannot use its sequence; it takes
 * a reference on the ownership (lock word + 2, only while bit 0 is set; the
 * owner unlocks with cmpxchg 1 -> 0) and claims with a compare-and-swap, as
 * the owner's own claims are: no plain claim can run until the unlock.
 *
 * The abort convention is pcp.pml's: every step of a sequence is
 *     atomic { if :: aborted -> goto restart :: else -> step fi }
 * and a restart clears the flag.  Sizes: 2 pages, a list of 2, a ring of 2
 * (never full in this bound: asserted), generations modulo 8 and call
 * nonces modulo 8 (ring nonces are 8 + the ring index), neither of which
 * wraps here (at most 5 hand-outs of a page, at most 8 free calls:
 * asserted).  The wrap arguments for the real widths are in docs/PCP.md.
 *
 * Ghosts.  inc[p] counts the hand-outs of page p (the incarnation); a free
 * call is charged to the incarnation it read when it decided.  held[p]:
 * handed out and not freed since.  eff[p, i]: the frees of incarnation i
 * that took effect (the block went back to a list, the buddy lists, or was
 * leaked after a report).  Every free call ends in an effect or a report
 * (a ring entry's when it is processed), so "exactly one effect" per
 * incarnation means every other free of it was reported.  Checked:
 *   - at every effect: the incarnation freed is the one the call read (no
 *     live, later incarnation freed: the generation's job), no other free
 *     of it took effect (never on two lists), and it was held;
 *   - at every hand-out: the block was free and on no list (never handed
 *     out twice);
 *   - at the end, after the final drain: every incarnation handed out was
 *     freed exactly once (no false report: a lone free is never reported,
 *     and nothing lost), none still held, each free page on the list at
 *     most once and PCP exactly when on it, the ring empty;
 *   - by construction: a free on CPU 0 decides at once (claims or reports;
 *     only while a drainer owns the set does it claim by CAS instead); a free
 *     from CPU 1 is reported at once if it reads a free block, else at the
 *     latest when its entry is processed.
 *
 * The known-bad variants, each must fail.  Run as spin.sh does, with the
 * -D added to `spin -a`:
 *     spin -a -DBAD_X pcp_split.pml && cc -O2 -DSAFETY -o pan pan.c && ./pan -m100000
 * Results (2026-11-30, spin 6.5.2; the good model: 0 errors, 3 615 142
 * states, about 5 s, 500 MB):
 *   -DBAD_NO_NONCE     the retry after an abort between the claim store and
 *                      the commit takes its own claim for a double free:
 *                      a false report, and the block is lost (4 268 states)
 *                      "pan:1: assertion violated (eff[((p*6)+i)]==1) (at depth 166)"
 *   -DBAD_THREAD_NONCE one nonce per thread: a second free of the block by
 *                      the same thread (or its signal handler) passes as the
 *                      first one's claim: not reported, pushed twice (85 states)
 *                      "pan:1: assertion violated (eff[((p*6)+ri)]==0) (at depth 140)"
 *   -DBAD_NONCE_TWO_STEPS  the nonce counter bumped with a load and a store:
 *                      a signal between them gives the handler the owner's
 *                      nonce, the same failure (4 497 states)
 *                      "pan:1: assertion violated (eff[((p*6)+ri)]==0) (at depth 124)"
 *   -DBAD_NO_GEN       the ring entry carries no generation: a remote free
 *                      queued while a second free on the home CPU freed the
 *                      block is processed after the block was handed out
 *                      again, and frees the live block (30 209 states)
 *                      "pan:1: assertion violated (inc[p]==qri[(qhead%2)]) (at depth 81)"
 *   -DBAD_REMOTE_CAS   the remote free claims with an atomic (what the full
 *                      ring's fallback does): it races the home's plain store
 *                      and both free the block (2 352 states)
 *                      "pan:1: assertion violated (eff[((p*6)+ri)]==0) (at depth 102)"
 *   -DBAD_QUEUE_CALL_NONCE  ring processing claims with a per-call nonce:
 *                      the owner's claim, aborted before it committed the
 *                      ring's head, is foreign to the handler, which consumes
 *                      the entry with a report: a false report, the block
 *                      lost (3 860 states)
 *                      "pan:1: assertion violated (eff[((p*6)+i)]==1) (at depth 143)"
 *   -DLOCKER           not a bad variant, a best-effort one: a page lock
 *                      taken on an allocated block that a free races is
 *                      reported, at the free (it sees the bit: leaked) or at
 *                      the unlock (the plain claim stored the word over the
 *                      bit, the unlock finds it gone); a lock taken on a
 *                      block already being freed is not checked.  No error
 *                      found, but not exhaustively: -DBITSTATE -w30 covers
 *                      9.3e7 states in 105 s, 134 MB (hash factor 11.5);
 *                      -DCOLLAPSE -DMEMLIM=5000 stopped at 9.26e7 states,
 *                      232 s.  Never run it without a memory bound on a
 *                      shared machine (an exhaustive run of an earlier,
 *                      larger version took 21 GB).
 *
 * -DTWO_SEQ: the variant without the nonce (docs/PCP.md, "A variant without
 * the nonce").  The home CPU's free is two restartable sequences: the claim,
 * whose commit store is the claim {PCP, home} (no nonce), then an ordinary
 * push that never looks at the word (an owned set: the claimed free's slow
 * path).  Everything else (the ring, generations, per-entry ring claims with
 * their lap tag, the drainer and its ownership references, the handler) is
 * the default model's; the handler's whole free stores tag 0 and accepts no
 * claim of its own.  BAD_NO_NONCE, BAD_THREAD_NONCE and BAD_NONCE_TWO_STEPS
 * do not apply.  Run as above with -DTWO_SEQ added:
 *     spin -a -DTWO_SEQ pcp_split.pml && cc -O2 -DSAFETY -DMEMLIM=4000 -o pan pan.c
 *     && timeout 600 ./pan -m100000
 * Results (2026-11-30, spin 6.5.2):
 *   -DTWO_SEQ          0 errors, all of the default's assertions:
 *                      "State-vector 100 byte, depth reached 222, errors: 0"
 *                      1 522 924 states, 291 MB, 0.97 s (the default model
 *                      on the same machine: 3 615 142 states, 506 MB, 2.4 s)
 *   -DTWO_SEQ -DBAD_TWO_SEQ_RECHECK  the push's abort handler restarts the
 *                      whole free: after the handler aborts the push, the
 *                      claim sequence finds the call's own claim and reports
 *                      it: a false report, the block lost (3 760 states)
 *                      "pan:1: assertion violated (eff[((p*6)+i)]==1) (at depth 167)"
 *   -DTWO_SEQ -DBAD_TWO_SEQ_LATE_COMMIT  the claim stored before the
 *                      sequence's commit store: an abort between them, the
 *                      same false report (3 829 states)
 *                      "pan:1: assertion violated (eff[((p*6)+i)]==1) (at depth 166)"
 *   -DTWO_SEQ -DBAD_TWO_SEQ_ACCEPT_CLAIMED  the claim sequence takes a
 *                      claimed word for its own aborted claim (no nonce to
 *                      tell): the owner's second free of its block passes
 *                      and the block is pushed twice (91 states)
 *                      "pan:1: assertion violated (eff[((p*6)+ri)]==0) (at depth 152)"
 *   -DTWO_SEQ with -DBAD_NO_GEN / -DBAD_REMOTE_CAS / -DBAD_QUEUE_CALL_NONCE:
 *                      the ring's bad variants still fail ("inc[p]==qri[..]"
 *                      at depth 81; "eff[((p*6)+ri)]==0" at 108; and
 *                      "eff[((q*6)+rr)]==0" at 75: with no call nonce,
 *                      new_nonce gives 0, the local claim's tag, so that
 *                      ring claim takes a local claim for its own)
 *   -DTWO_SEQ -DLOCKER no error: -DBITSTATE -w30 3.96e7 states in 29.6 s,
 *                      134 MB (hash factor 27.1, so not a proof);
 *                      exhaustive with -DCOLLAPSE -DMEMLIM=4000: 0 errors,
 *                      39 588 098 states, depth 239, 65 s, 2 275 MB (too
 *                      large for the suite; the default model's LOCKER run
 *                      did not finish within 5 GB)
 *
 * Left out: hand-outs on other CPUs (home != 0, re-homing, and the check
 * that an entry's block still has this home), a thread that migrates
 * between its claim and its retry (it then pushes its own claim on the new
 * CPU's list), more than one order, a full list, a full ring and its
 * fallback (that is BAD_REMOTE_CAS), wraps of the nonce and generation,
 * lock mode, and memory ordering: every step is sequentially consistent
 * (pcp.pml models the drainer's membarrier against the sequences).
 *
 * Run: bash tests/model/spin.sh tests/model/pcp_split.pml (meson test
 * model-pcp-split).
 */

#define NP 2            /* pages */
#define CAP 2           /* the list's capacity (never full with 2 pages) */
#define QN 2            /* ring entries */
#define QI 4            /* ring indices run modulo 2 * QN (a lap tag per slot) */
#define NI 6            /* incarnations per page the ghosts can track */
#define GENM 8          /* generation modulo (3 bits) */
#define NONM 8          /* call nonces modulo (3 bits); ring nonces are NONM + index */
#define NONE 255

/* the state word's flags */
#define ALLOC 1         /* PG_allocated */
#define PCP 2           /* claimed: being freed, or on a per-CPU list */
#define BUDDY 3         /* on the buddy lists (or the deferred stack) */
#define BAD 4           /* leaked after a report (LOCKER only) */

#define LEGIT 0
#define DOUBLE 1

/* ---- the state word of each page: one plain load or store covers it all */
byte fl[NP];            /* flags */
byte gen[NP];           /* generation (bumped at hand-out) */
byte non[NP];           /* nonce of the claim */
bit lk[NP];             /* PG_locked (LOCKER) */
/* home CPU: always 0 in this model (every hand-out is on CPU 0) */

/* ---- CPU 0's set: one list and the lock word */
byte slots[CAP];
byte count;
byte lock;              /* the set's lock word: 1 = owned by a drainer, + 2 per
                         * CAS claimer working under that ownership */
bit aborted;            /* CPU 0's sequence in flight was moved to its abort handler */

/* ---- CPU 0's ring of remote frees: producers reserve with a CAS on qtail,
 * publish with one store of (page, generation, lap tag); the consumer
 * (CPU 0's sequences, or the set's owner) commits by storing qhead. */
byte qp[QN], qg[QN], qri[QN];  /* qri: ghost, the incarnation the freer read */
byte qtag[QN];
byte qhead, qtail;

/* ---- ghosts */
byte inc[NP];
bit held[NP];
byte eff[NP * NI];      /* per (page, incarnation): the frees that took effect */
byte nctr;              /* nonces handed to calls so far */
byte mode;              /* the remote freer: LEGIT or DOUBLE */
byte given = NONE;      /* the owner's block for the remote freer */
byte ownp = NONE;       /* the block the owner allocated last (the handler may free it too) */
bit owner_done;
byte strikes;
#ifdef LOCKER
byte lpage;             /* the page it locks */
bit lalloc;             /* it was allocated when locked */
bit lheld;              /* the locker holds (thinks it holds) the lock */
bit lfreed;             /* a free took effect while it did */
bit lreported;          /* ...and was reported as "freed while locked" */
#endif

#define QLEN ((qtail + QI - qhead) % QI)

/* Does an entry's generation match the block's?  (BAD_NO_GEN: not compared.)
 * Is the word our own aborted claim?  (BAD_NO_NONCE: never recognised.) */
#ifdef BAD_NO_GEN
#define GEN_OK(x, y) true
#else
#define GEN_OK(x, y) (gen[x] == (y))
#endif
#if defined(BAD_NO_NONCE) || defined(TWO_SEQ)
#define OWN_CLAIM(x, y) false           /* TWO_SEQ: no nonce, no claim of "our own" */
#else
#define OWN_CLAIM(x, y) (fl[x] == PCP && non[x] == (y))
#endif

inline effect(p, ri)
{
	assert(inc[p] == ri);           /* the incarnation the call read, not a later one */
	assert(eff[p * NI + ri] == 0);  /* not freed already: never on two lists */
	assert(held[p]);
	held[p] = 0;
	eff[p * NI + ri]++
#ifdef LOCKER
	; if :: lheld && p == lpage -> lfreed = 1 :: else -> skip fi
#endif
}

/* A report ("Bad page state: double free").  Nothing is stored: every free
 * call ends in an effect or a report, so the end's "freed exactly once" is
 * also "every other free was reported"; counting them would only multiply
 * the states. */
inline report(p, ri)
{
	skip
}

inline new_nonce(n)
{
#ifdef TWO_SEQ
	n = 0                           /* no nonce: a local claim stores tag 0 */
#elif defined(BAD_THREAD_NONCE)
	n = 1                           /* the thread's: owner and handler share it */
#elif defined(BAD_NONCE_TWO_STEPS)
	assert(nctr < NONM);
	n = nctr;                       /* load ... */
	nctr++                          /* ... store: a signal in between reuses n */
#else
	/* one instruction (xadd on the thread's counter): atomic against the
	 * thread's own signal handlers */
	atomic { assert(nctr < NONM); n = nctr; nctr++ }
#endif
}

/* The pop's commit and lab__hand_out() (a plain store of the word after the
 * commit; nobody acts on a claimed block off any list, so one step). */
inline hand_out(p)
{
	assert(fl[p] == PCP && !held[p]);   /* never handed out twice */
	fl[p] = ALLOC;
	lk[p] = 0;                          /* the whole word is stored: */
	non[p] = 0;                         /* no nonce in an allocated word */
	gen[p] = (gen[p] + 1) % GENM;
	inc[p]++;
	assert(inc[p] < NI);
	held[p] = 1
}

/* A set owner's processing of the ring (drainer, final drain): no CPU 0
 * sequence runs, no other CPU writes the words. */
inline own_process()
{
	do
	:: qtag[qhead % QN] == qhead ->
		q = qp[qhead % QN];
		if
		:: fl[q] == ALLOC && !lk[q] && GEN_OK(q, qg[qhead % QN]) ->
			fl[q] = BUDDY; effect(q, qri[qhead % QN])
		:: fl[q] == PCP && non[q] == NONM + qhead ->
			/* a CPU 0 sequence claimed it for this entry, then aborted */
			fl[q] = BUDDY; effect(q, qri[qhead % QN])
#ifdef LOCKER
		:: (fl[q] == ALLOC && lk[q] && GEN_OK(q, qg[qhead % QN])) ||
		   (fl[q] == BAD && non[q] == NONM + qhead) ->
			fl[q] = BAD; effect(q, qri[qhead % QN]); lreported = 1
#endif
		:: else -> report(q, qri[qhead % QN])
		fi;
		qtag[qhead % QN] = NONE;        /* (the lap tag makes this store unneeded in C) */
		qhead = (qhead + 1) % QI
	:: else -> break
	od
}

inline own_drain()
{
	do
	:: count > 0 ->
		count--;
		assert(fl[slots[count]] == PCP);
		fl[slots[count]] = BUDDY;
		non[slots[count]] = 0
	:: else -> break
	od
}

/*
 * A free on CPU 0 run to completion (the handler's): the fast path's
 * sequence without interruption, or, if the set is owned, the general path.
 */
inline free_atomic(p, n)
{
	if
	:: lock ->
		/* owned by a drainer: a CAS claim under its ownership (fr_owned) */
		if
		:: fl[p] == ALLOC && !lk[p] -> fl[p] = BUDDY; effect(p, inc[p])
#ifdef LOCKER
		:: fl[p] == ALLOC && lk[p] -> fl[p] = BAD; effect(p, inc[p]); lreported = 1
#endif
		:: else -> report(p, inc[p])
		fi
#ifdef LOCKER
	:: !lock && fl[p] == ALLOC && lk[p] ->
		fl[p] = BAD; effect(p, inc[p]); lreported = 1
#endif
	:: !lock && ((fl[p] == ALLOC && !lk[p]) || OWN_CLAIM(p, n)) ->
		assert(count < CAP);
		fl[p] = PCP; non[p] = n; lk[p] = 0;
		slots[count] = p;
		count++;
		effect(p, inc[p])
	:: else -> report(p, inc[p])
	fi
}

/* ---- the owner's sequences (several steps each) ---------------------- */

#ifdef TWO_SEQ
/*
 * TWO_SEQ: the home CPU's free as two restartable sequences, no nonce.
 *
 * Sequence 1, the claim: check the lock word (owned: the reference and CAS
 * path below), load the state word; {allocated, home = this CPU, refcount 1,
 * no lock bits}: store the claim {PCP, home, tag 0} as the sequence's commit,
 * its only store; anything else: leave and report (another home would leave
 * for the remote path: every home is CPU 0 here).  An abort before the
 * commit leaves the word allocated, so the restart needs no nonce to know
 * its own claim: it has none.
 *
 * Sequence 2, the push of a block the call now owns: check the lock word,
 * load the count, store the slot, commit count + 1; it never looks at the
 * word.  If the push cannot complete (owned set; a full list, which this
 * bound never has: asserted) the call finishes a claimed free (the slow
 * path: the buddy lists; nobody else acts on a claimed block off every list).
 *
 * The effect is charged at the push's commit or the slow path, so a claim
 * whose block never reaches a list or the buddy lists is a lost block.
 *
 * Bad variants (each must fail):
 *   BAD_TWO_SEQ_RECHECK  the push's abort handler restarts the whole free
 *       (sequence 1 again, which re-checks the word): after an abort in the
 *       push it finds its own claim and reports it: false report, block lost;
 *   BAD_TWO_SEQ_LATE_COMMIT  the claim is stored before the sequence's
 *       commit (another store follows it): an abort between them restarts
 *       sequence 1 over its own claim: the same false report;
 *   BAD_TWO_SEQ_ACCEPT_CLAIMED  sequence 1 takes a claimed word (tag 0) for
 *       its own claim of an aborted try (the fix one would try for the two
 *       above without a nonce): a double free on the home CPU passes and the
 *       block is pushed twice.
 */
#ifdef BAD_TWO_SEQ_RECHECK
#define PUSH_RESTART fr_restart         /* the push's abort IP is the claim's */
#else
#define PUSH_RESTART fp_restart
#endif
inline free_seq(p)
{
	skip;                   /* (a label may not open the body) */
	/* sequence 1: the claim */
fr_restart:
	aborted = 0;
	atomic { if :: aborted -> goto fr_restart
		    :: else -> if :: lock -> goto fr_owned :: else -> skip fi fi };
	atomic {                                                /* load the state word */
		if
		:: aborted -> goto fr_restart
		:: else ->
			ri = inc[p];
			if
#ifdef LOCKER
			:: fl[p] == ALLOC && lk[p] -> act = 3        /* freed while locked */
#endif
			:: fl[p] == ALLOC && !lk[p] -> act = 1       /* claim */
#ifdef BAD_TWO_SEQ_ACCEPT_CLAIMED
			:: fl[p] == PCP && non[p] == 0 -> act = 2    /* "our own" claim */
#endif
			:: else -> act = 0                           /* double free */
			fi
		fi
	};
	if
	:: act == 0 -> report(p, ri); goto fr_done           /* at once, nothing stored */
	:: act == 1 ->
		atomic { if :: aborted -> goto fr_restart        /* the commit: the claim */
			    :: else -> fl[p] = PCP; non[p] = 0; lk[p] = 0 fi }
#ifdef BAD_TWO_SEQ_LATE_COMMIT
		; atomic { if :: aborted -> goto fr_restart :: else -> skip fi }   /* the commit */
#endif
	:: act == 2 -> skip
#ifdef LOCKER
	:: act == 3 ->
		atomic { if :: aborted -> goto fr_restart
			    :: else -> fl[p] = BAD; effect(p, ri); lreported = 1 fi };
		goto fr_done
#endif
	fi;
	/* sequence 2: the push */
fp_restart:
	aborted = 0;
	atomic { if :: aborted -> goto PUSH_RESTART
		    :: else -> if :: lock -> goto fp_owned :: else -> skip fi fi };
	atomic { if :: aborted -> goto PUSH_RESTART :: else -> c = count fi };
	assert(c < CAP);                                        /* (full: the slow path) */
	atomic { if :: aborted -> goto PUSH_RESTART :: else -> slots[c] = p fi };
	atomic {                                                /* commit */
		if
		:: aborted -> goto PUSH_RESTART
		:: else -> count = c + 1; effect(p, ri)
		fi
	};
	goto fr_done;
fp_owned:
	/* The push cannot run: finish the claimed free (lab__free_block: the
	 * buddy lists under the zone lock).  The block is the call's. */
	atomic { fl[p] = BUDDY; effect(p, ri) };
	goto fr_done;
fr_owned:
	/* The set is owned before the claim: as in the default model, a
	 * reference on the ownership and a CAS claim (no own claim to accept). */
	atomic { if :: lock & 1 -> lock = lock + 2 :: else -> goto fr_restart fi };
	atomic {                                                /* lock cmpxchg on the word */
		if
		:: fl[p] == ALLOC && !lk[p] ->
			fl[p] = BUDDY; effect(p, inc[p])            /* a claimed block to the buddy lists */
#ifdef LOCKER
		:: fl[p] == ALLOC && lk[p] -> fl[p] = BAD; effect(p, inc[p]); lreported = 1
#endif
		:: else -> report(p, inc[p])
		fi
	};
	lock = lock - 2;                                        /* lock xadd */
fr_done:
	c = 0; ri = 0; act = 0; n = 0                   /* dead: fewer states */
}
#else /* !TWO_SEQ: one sequence, the claim inside the push, with a nonce */

/*
 * The fast path's free on the home CPU: check the lock word, load the
 * state word and the count, store the claim {PCP, nonce}, store the slot,
 * commit the count.  A retry that finds {PCP, its own nonce} resumes after
 * the claim store.  If the set is owned: the claim is the call's if the word
 * carries its nonce (free it as claimed), else queue it or report it.
 */
inline free_seq(p)
{
	new_nonce(n);
fr_restart:
	aborted = 0;
	atomic { if :: aborted -> goto fr_restart
		    :: else -> if :: lock -> goto fr_owned :: else -> skip fi fi };
	atomic {
		if
		:: aborted -> goto fr_restart
		:: else ->
			c = count;
			ri = inc[p];
			if
#ifdef LOCKER
			:: fl[p] == ALLOC && lk[p] -> act = 3        /* freed while locked */
#endif
			:: fl[p] == ALLOC && !lk[p] -> act = 1       /* claim */
			:: OWN_CLAIM(p, n) -> act = 2                /* our own claim, aborted */
			:: else -> act = 0                           /* double free */
			fi
		fi
	};
	if
	:: act == 0 -> report(p, ri); goto fr_done           /* at once, nothing stored */
	:: act == 1 ->
		atomic { if :: aborted -> goto fr_restart
			    :: else -> fl[p] = PCP; non[p] = n; lk[p] = 0 fi }   /* the claim: one plain store */
	:: act == 2 -> skip
#ifdef LOCKER
	:: act == 3 ->
		atomic { if :: aborted -> goto fr_restart
			    :: else -> fl[p] = BAD; effect(p, ri); lreported = 1 fi };
		goto fr_done
#endif
	fi;
	assert(c < CAP);
	atomic { if :: aborted -> goto fr_restart :: else -> slots[c] = p fi };
	atomic {                                                /* commit */
		if
		:: aborted -> goto fr_restart
		:: else -> count = c + 1; effect(p, ri)
		fi
	};
	goto fr_done;
fr_owned:
	/* The set is owned: no CPU 0 sequence can store a claim until the owner
	 * unlocks, and it cannot unlock while a claimer holds a reference (lock
	 * cmpxchg: +2 while bit 0 is set; the owner unlocks with cmpxchg 1 -> 0).
	 * Under the reference a claim is a CAS, as every claim of an owned set's
	 * blocks is (the owner's too). */
	atomic { if :: lock & 1 -> lock = lock + 2 :: else -> goto fr_restart fi };
	atomic {                                                /* lock cmpxchg on the word */
		if
		:: OWN_CLAIM(p, n) || (fl[p] == ALLOC && !lk[p]) ->
			fl[p] = BUDDY; effect(p, inc[p])            /* a claimed block to the buddy lists */
#ifdef LOCKER
		:: fl[p] == ALLOC && lk[p] -> fl[p] = BAD; effect(p, inc[p]); lreported = 1
#endif
		:: else -> report(p, inc[p])
		fi
	};
	lock = lock - 2;                                        /* lock xadd */
fr_done:
	c = 0; ri = 0; act = 0; n = 0                   /* dead: fewer states */
}
#endif /* TWO_SEQ */

/*
 * Process one ring entry on the home CPU, in a sequence: check the lock,
 * read the entry at qhead (published: its lap tag is qhead), load the block's
 * word, store the claim {PCP, NONM + qhead} if the word is {ALLOC, home,
 * the entry's generation}, commit qhead + 1.  The nonce names the entry,
 * not the call: any CPU 0 context that processes the same entry after an
 * abort takes the claim over.  Then the claimed block is pushed (a second
 * sequence; a claimed block off every list is nobody else's).
 */
inline process_seq()
{
	took = 0;
#ifdef BAD_QUEUE_CALL_NONCE
	new_nonce(n);
#endif
pq_restart:
	aborted = 0;
	atomic {
		if
		:: aborted -> goto pq_restart
		:: else ->
			if
			:: lock -> goto pq_done
			:: qtag[qhead % QN] != qhead -> goto pq_done   /* empty or not yet published */
			:: else -> h = qhead; q = qp[h % QN]; g = qg[h % QN]; rr = qri[h % QN]
			fi
		fi
	};
#ifndef BAD_QUEUE_CALL_NONCE
	n = NONM + h;
#endif
	atomic {
		if
		:: aborted -> goto pq_restart
		:: else ->
			if
			:: fl[q] == ALLOC && !lk[q] && GEN_OK(q, g) -> act = 1
			:: fl[q] == PCP && non[q] == n -> act = 2
#ifdef LOCKER
			:: fl[q] == ALLOC && lk[q] && GEN_OK(q, g) -> act = 3   /* leak it: {BAD, nonce} */
			:: fl[q] == BAD && non[q] == n -> act = 4    /* our own leak store, aborted */
#endif
			:: else -> act = 0
			fi
		fi
	};
	if
	:: act == 1 ->
		atomic { if :: aborted -> goto pq_restart
			    :: else -> fl[q] = PCP; non[q] = n; lk[q] = 0 fi }
#ifdef LOCKER
	:: act == 3 ->
		atomic { if :: aborted -> goto pq_restart :: else -> fl[q] = BAD; non[q] = n fi }
#endif
	:: else -> skip
	fi;
	atomic {                                                /* commit: qhead + 1 */
		if
		:: aborted -> goto pq_restart
		:: else ->
			qtag[h % QN] = NONE;
			qhead = (h + 1) % QI;
			if
			:: act == 1 || act == 2 -> effect(q, rr); took = 1
#ifdef LOCKER
			:: act == 3 || act == 4 -> effect(q, rr); lreported = 1
#endif
			:: act == 0 -> report(q, rr)                  /* the remote free was a double free */
			:: else -> skip
			fi
		fi
	};
	if
	:: took ->                                              /* push the claimed block */
pb_restart:
		aborted = 0;
		atomic { if :: aborted -> goto pb_restart
			    :: else -> if :: lock -> goto pb_owned :: else -> skip fi fi };
		atomic { if :: aborted -> goto pb_restart :: else -> c = count fi };
		assert(c < CAP);
		atomic { if :: aborted -> goto pb_restart :: else -> slots[c] = q fi };
		atomic { if :: aborted -> goto pb_restart :: else -> count = c + 1 fi };
		goto pq_done;
pb_owned:
		fl[q] = BUDDY                                   /* general path: the buddy lists */
	:: else -> skip
	fi;
pq_done:
	c = 0; act = 0; h = 0; q = 0; g = 0; rr = 0; took = 0; n = 0
}

/* The allocation's pop: lock, count, slot, commit (and hand-out).  An empty
 * or owned list: the buddy lists (under the zone lock, one step). */
inline pop_seq(p)
{
	p = NONE;
po_restart:
	aborted = 0;
	atomic { if :: aborted -> goto po_restart
		    :: else -> if :: lock -> goto po_buddy :: else -> skip fi fi };
	atomic { if :: aborted -> goto po_restart
		    :: else -> c = count; if :: c == 0 -> goto po_buddy :: else -> skip fi fi };
	atomic { if :: aborted -> goto po_restart :: else -> p = slots[c - 1] fi };
	atomic {
		if
		:: aborted -> p = NONE; goto po_restart
		:: else -> count = c - 1; hand_out(p)
		fi
	};
	goto po_done;
po_buddy:
	atomic {
		if
		:: fl[0] == BUDDY -> p = 0; fl[0] = PCP; hand_out(0)   /* (rmqueue; PCP only for hand_out's check) */
		:: fl[1] == BUDDY -> p = 1; fl[1] = PCP; hand_out(1)
		:: else -> p = NONE
		fi
	};
po_done:
	c = 0
}

proctype owner()
{
	byte p, c, n, ri, act, h, q, g, rr, rounds = 0;
	bit took, dbl = 0, again;
	do
	:: rounds < 2 ->
		rounds++;
		process_seq();
		pop_seq(p);
		if :: p != NONE -> ownp = p :: else -> skip fi;
		if
		:: p == NONE -> skip
		:: p != NONE && mode == LEGIT && given == NONE -> given = p   /* to CPU 1 */
		:: else ->
			again = 1;
			do
			:: again ->
				free_seq(p);             /* one call site: the labels are inlined once */
				again = 0;
				if
				:: !dbl -> dbl = 1; again = 1   /* then a double free on this CPU */
				:: true -> skip
				fi
			:: else -> break
			od
		fi
	:: else -> break
	od;
	owner_done = 1
}

proctype handler()
{
	byte n, p;
	do
	:: strikes < 2 ->
		atomic {
			strikes++;
			aborted = 1;
			if
			:: !lock && count > 0 ->                  /* allocate a block and free it */
				count--; p = slots[count]; hand_out(p);
				new_nonce(n); free_atomic(p, n)
			:: ownp != NONE ->                        /* free the block its thread holds or freed */
				p = ownp; new_nonce(n); free_atomic(p, n)
			:: !lock && qtag[qhead % QN] == qhead ->  /* process a ring entry, whole */
				p = qp[qhead % QN];
				if
				:: (fl[p] == ALLOC && !lk[p] && GEN_OK(p, qg[qhead % QN])) ||
				   (fl[p] == PCP && non[p] == NONM + qhead) ->
					assert(count < CAP);
					fl[p] = PCP; non[p] = NONM + qhead; lk[p] = 0;
					slots[count] = p; count++;
					effect(p, qri[qhead % QN])
#ifdef LOCKER
				:: (fl[p] == ALLOC && lk[p] && GEN_OK(p, qg[qhead % QN])) ||
				   (fl[p] == BAD && non[p] == NONM + qhead) ->
					fl[p] = BAD; effect(p, qri[qhead % QN]); lreported = 1
#endif
				:: else -> report(p, qri[qhead % QN])
				fi;
				qtag[qhead % QN] = NONE;
				qhead = (qhead + 1) % QI
			:: true -> skip                           /* an abort only (preemption) */
			fi;
			p = 0; n = 0
		}
	:: else -> break
	od
}

proctype remote()
{
	byte p, g, ri, idx;
	if
	:: mode == LEGIT ->
		(given != NONE || owner_done);
		if :: given == NONE -> goto rdone :: else -> p = given fi
	:: mode == DOUBLE ->
		if :: p = 0 :: p = 1 fi
	fi;
#ifdef BAD_REMOTE_CAS
	atomic {                                  /* lock cmpxchg: allocated -> deferred */
		ri = inc[p];
		if
		:: fl[p] == ALLOC -> fl[p] = PCP; non[p] = NONE; effect(p, ri)
		:: else -> report(p, ri); goto rdone
		fi
	};
	fl[p] = BUDDY;                            /* then the buddy lists */
#else
	atomic {                                  /* one load of the state word */
		ri = inc[p];
		if
		:: fl[p] == ALLOC && !lk[p] -> g = gen[p]
#ifdef LOCKER
		:: fl[p] == ALLOC && lk[p] -> g = gen[p]   /* queued; the home reports it */
#endif
		:: else -> report(p, ri); goto rdone      /* not allocated: a double free, at once */
		fi
	};
	atomic {                                  /* reserve: lock cmpxchg on qtail */
		assert(QLEN < QN);                    /* never full in this bound */
		idx = qtail;
		qtail = (qtail + 1) % QI
	};
	atomic {                                  /* publish: one store of the entry */
		qp[idx % QN] = p; qg[idx % QN] = g; qri[idx % QN] = ri;
		qtag[idx % QN] = idx;
		g = 0; ri = 0; idx = 0
	}
#endif
rdone:
	skip
}

proctype drainer()
{
	byte q;
	atomic { lock == 0 -> lock = 1 };
	aborted = 1;                              /* membarrier(PRIVATE_EXPEDITED_RSEQ) on CPU 0 */
	atomic { own_process(); own_drain() };         /* its claims are CASes */
	atomic { lock == 1 -> lock = 0 }                /* cmpxchg 1 -> 0: no claimer inside */
}

#ifdef LOCKER
proctype locker()
{
	byte p;
	bit had;
	if :: p = 0 :: p = 1 fi;
	atomic { had = lk[p]; lk[p] = 1; lheld = !had; lpage = p; lalloc = (fl[p] == ALLOC) };   /* lock_page: fetch_or */
	if
	:: !lheld -> goto ldone
	:: else -> skip
	fi;
	atomic {                                  /* unlock_page: fetch_and */
		/* A lock of an allocated block that a free raced: the free saw
		 * the bit (leak and report), or its plain claim stored the word
		 * over the bit and the unlock finds it gone (a report, late).
		 * A lock of a block already free is not checked: best-effort. */
		if
		:: lalloc && lfreed && !lreported -> assert(!lk[p])
		:: else -> skip
		fi;
		lk[p] = 0;
		lheld = 0
	};
ldone:
	skip
}
#endif

init {
	byte p, i, k, seen, q;
	atomic {
		slots[0] = 0; slots[1] = 1; count = 2;
		fl[0] = PCP; fl[1] = PCP;
		non[0] = NONE; non[1] = NONE;
		qtag[0] = NONE; qtag[1] = NONE;
		if :: mode = LEGIT :: mode = DOUBLE fi;
		run owner(); run handler(); run remote(); run drainer()
#ifdef LOCKER
		; run locker()
#endif
	};
	(_nr_pr == 1);
	/* A final drain, as drain_all would: every remote free is decided. */
	atomic { own_process() };
	assert(QLEN == 0);
	p = 0;
	do
	:: p < NP ->
		/* incarnation 0: never handed out, so never freed */
		assert(eff[p * NI] == 0);
		i = 1;
		do
		:: i <= inc[p] ->
			/* freed exactly once (every free call ends in an effect
			 * or a report, so the others were reported): no false
			 * report, nothing lost */
			assert(eff[p * NI + i] == 1);
			i++
		:: else -> break
		od;
		assert(!held[p]);
		seen = 0;
		k = 0;
		do
		:: k < count -> if :: slots[k] == p -> seen++ :: else -> skip fi; k++
		:: else -> break
		od;
		assert(seen <= 1);
		assert((fl[p] == PCP) == (seen == 1));
		assert(fl[p] == PCP || fl[p] == BUDDY || fl[p] == BAD);
		p++
	:: else -> break
	od
}
