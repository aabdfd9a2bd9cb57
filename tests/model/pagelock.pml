/*
 * pagelock.pml - a Promela model of the page lock protocol of pagelock.c:
 * PG_locked and PG_waiters in one flags word, a wait-table bucket with its
 * lock and FIFO list, per-waiter futex words, the steal bound and the
 * handoff.  One page; NLOCKERS threads lock and unlock it, NWATCHERS more
 * wait for it with lab_wait_on_page_locked().  Each step names the code it
 * mirrors.  Checked by tests/model/pagelock.sh (meson suite 'model'):
 *
 *   safety (ROUNDS > 0): mutual exclusion (assert), no waiter stolen from
 *     after it asked for the handoff (assert), and no lost wake-up or
 *     deadlock: every thread finishes its rounds, so a thread left asleep
 *     on its futex word is an invalid end state;
 *   liveness (ROUNDS == 0, threads loop forever, weak fairness): the LTL
 *     property no_starvation, locker 0 always gets the lock it asks for.
 *     With -DNO_HANDOFF the model drops the handoff and this must fail;
 *     with -DNO_RECHECK it drops the trylock after setting PG_waiters and
 *     the safety run must find the lost wake-up.
 *
 * The bucket lock is a ticket lock, modelled as the FIFO of ticket
 * holders.  It has to be fair: with a test-and-set lock this model finds a
 * locker starved on the bucket lock itself, whatever the handoff does.
 *
 * What is left out: the deferred release of a signal handler that
 * interrupted its own thread's bucket work (pending flag), and the brief
 * spin, which is only more trylocks (modelled as one).  Atomic RMWs on the
 * flags word are single steps (d_step); so is each list operation, done
 * under the bucket lock where nobody else can look.  Steps are sequentially
 * consistent: the code's lost-wake-up argument rests on RMWs of the one
 * flags word, which C11 orders totally anyway, and on the bucket lock.
 */

#ifndef NLOCKERS
#define NLOCKERS 3
#endif
#ifndef ROUNDS
#define ROUNDS 2            /* lock/unlock rounds per thread; 0 = forever */
#endif
#ifndef UNFAIRNESS
/* PAGE_LOCK_UNFAIRNESS is 5 in pagelock.c.  Nothing in the protocol depends
 * on the value; 2 keeps the state space small and still reaches handoffs. */
#define UNFAIRNESS 2
#endif
#ifndef NWATCHERS
#define NWATCHERS 1         /* lab_wait_on_page_locked callers: 0 or 1 */
#endif
#define NPROC (NLOCKERS + NWATCHERS)

#define NOBODY 255
#define QUEUED 0            /* enum waiter_state */
#define WOKEN  1
#define HANDED 2

bit locked;                 /* PG_locked */
bit waiters;                /* PG_waiters */
byte tq[NPROC];             /* wait_bucket ticket lock: waiting tickets, */
byte tqlen;                 /* tq[0] is being served (holds the lock) */
byte q[NPROC];              /* wait_bucket list, head first */
byte qlen;
byte state[NPROC];          /* page_waiter.state, the futex word */
bit exclusive[NPROC];       /* page_waiter.exclusive */
bit handoff[NPROC];         /* page_waiter.handoff */
byte holders;               /* threads between lock and unlock */
bit trying0, holding0;      /* locker 0 wants / holds the lock */

ltl no_starvation { [] (trying0 -> <> holding0) }

/* trylock_bit(): atomic_fetch_or(PG_locked), took = old bit was clear. */
inline trylock(took)
{
	d_step { took = (locked == 0); locked = 1 }
}

/* bucket_lock(): a ticket lock, i.e. a FIFO of ticket holders; the head
 * holds it.  Taking a ticket is one fetch_add; then wait to be served. */
inline bucket_lock(me)
{
	d_step { tq[tqlen] = me; tqlen++ };
	tq[0] == me
}

/* bucket_release(): serving++ hands the lock to the next ticket. */
inline bucket_unlock()
{
	d_step {
		j = 0;
		do
		:: j + 1 < tqlen -> tq[j] = tq[j + 1]; j++
		:: else -> break
		od;
		tqlen--;
		tq[tqlen] = NOBODY;
		j = 0
	}
}

/* enqueue(b, w, at_head) */
inline enqueue(me, at_head)
{
	d_step {
		if
		:: at_head ->
			j = qlen;
			do
			:: j > 0 -> q[j] = q[j - 1]; j--
			:: else -> break
			od;
			q[0] = me
		:: else -> q[qlen] = me
		fi;
		qlen++;
		j = 0
	}
}

/* dequeue(b, w) */
inline dequeue(who)
{
	d_step {
		j = 0;
		do
		:: j < qlen && q[j] != who -> j++
		:: else -> break
		od;
		assert(j < qlen);
		do
		:: j + 1 < qlen -> q[j] = q[j + 1]; j++
		:: else -> break
		od;
		qlen--;
		q[qlen] = 0;
		j = 0
	}
}

/* dequeue_waiter()'s second step: "if (!page_has_waiters(b, page))
 * atomic_fetch_and(~PG_waiters)" */
inline clear_waiters_if_none()
{
	d_step { if :: qlen == 0 -> waiters = 0 :: else -> skip fi }
}

/* unlock_page_and_wake(), under the bucket lock. */
inline unlock_page_and_wake()
{
	/* first: the first lock waiter on the list */
	d_step {
		first = NOBODY;
		do
		:: j < qlen && !exclusive[q[j]] -> j++
		:: else -> break
		od;
		if :: j < qlen -> first = q[j] :: else -> skip fi;
		j = 0
	}
	if
	:: first != NOBODY && handoff[first] ->
		/* handoff: PG_locked stays set */
		dequeue(first);
		clear_waiters_if_none();
		state[first] = HANDED           /* wake_list(first, WAIT_HANDED) */
	:: else ->
		/* take every unlock waiter and the first lock waiter off the list */
		d_step {
			woken = 0;
			j = 0;
			do
			:: j < qlen ->
				if
				:: !exclusive[q[j]] || q[j] == first ->
					woken = woken | (1 << q[j]);
					k = j;
					do
					:: k + 1 < qlen -> q[k] = q[k + 1]; k++
					:: else -> break
					od;
					qlen--;
					q[qlen] = 0
				:: else -> j++
				fi
			:: else -> break
			od;
			j = 0;
			k = 0
		}
		/* one atomic_fetch_and: PG_locked, and PG_waiters if none are left */
		d_step { locked = 0; if :: qlen == 0 -> waiters = 0 :: else -> skip fi }
		/* wake_list(woken, WAIT_WOKEN): one release store per waiter */
		j = 0;
		do
		:: j < NPROC ->
			if
			:: woken & (1 << j) -> state[j] = WOKEN
			:: else -> skip
			fi;
			j++
		:: else -> break
		od;
		j = 0;
		woken = 0
	fi
}

proctype locker(byte me)
{
	byte j, k, first, woken, lost, rounds;
	bit took, fast;

	exclusive[me] = 1;
	do
	:: ROUNDS == 0 || rounds < ROUNDS ->
		if :: me == 0 -> trying0 = 1 :: else -> skip fi;
		/* lab_lock_page(): trylock, then the brief spin */
		trylock(took);
		if :: took -> goto acquired :: else -> skip fi;
		if :: locked == 0 -> trylock(took) :: else -> skip fi;
		if :: took -> goto acquired :: else -> skip fi;
		/* lock_page_slow() */
		lost = 0;
		handoff[me] = 0;
slow:
		bucket_lock(me);                        /* bucket_lock_sleepable() */
		/* queue_and_recheck(), under the bucket lock */
		enqueue(me, lost > 0);                  /* losers go first */
		state[me] = QUEUED;
		waiters = 1;                            /* atomic_fetch_or(PG_waiters) */
#ifndef NO_RECHECK
		trylock(took);                          /* the recheck with the bit set */
#endif
		if
		:: took ->
			dequeue(me);
			clear_waiters_if_none();
			bucket_unlock();
			goto acquired
		:: else -> bucket_unlock()
		fi;
		state[me] != QUEUED;                    /* wait_for_wake(): futex wait */
		if :: state[me] == HANDED -> goto acquired :: else -> skip fi;
		trylock(took);                          /* woken: try again */
		if :: took -> goto acquired :: else -> skip fi;
		/* stolen by a newcomer */
		assert(!handoff[me]);                   /* never after asking for the handoff */
		lost++;
		if :: lost >= UNFAIRNESS ->
#ifndef NO_HANDOFF
			handoff[me] = 1
#else
			lost = 0
#endif
		:: else -> skip
		fi;
		goto slow;
acquired:
		skip;
		d_step {
			took = 0;                       /* dead locals: keep states canonical */
			lost = 0;
			handoff[me] = 0;
			holders++;
			assert(holders == 1 && locked);
			if :: me == 0 -> holding0 = 1; trying0 = 0 :: else -> skip fi
		}
		d_step {
			holders--;
			if :: me == 0 -> holding0 = 0 :: else -> skip fi
		}
		/* lab_unlock_page(): the CAS fast path when nobody waits */
		d_step {
			assert(locked);
			if
			:: !waiters -> locked = 0; fast = 1
			:: else -> fast = 0
			fi
		}
		if
		:: !fast ->
			bucket_lock(me);
			unlock_page_and_wake();
			bucket_unlock()
		:: else -> skip
		fi;
		d_step { fast = 0; first = 0 };
		if :: ROUNDS > 0 -> rounds++ :: else -> skip fi
	:: else -> break
	od
}

/* lab_wait_on_page_locked() */
proctype watcher(byte me)
{
	byte j, rounds;
	bit was_locked;

	exclusive[me] = 0;
	do
	:: ROUNDS == 0 || rounds < ROUNDS ->
		if
		:: locked == 0 -> skip                  /* the brief spin saw it unlocked */
		:: else ->
			bucket_lock(me);
			enqueue(me, 0);
			state[me] = QUEUED;
			d_step { was_locked = locked; waiters = 1 }  /* atomic_fetch_or */
			if
			:: !was_locked ->
				dequeue(me);
				clear_waiters_if_none();
				bucket_unlock()
			:: else ->
				bucket_unlock();
				state[me] != QUEUED;    /* wait_for_wake() */
				assert(state[me] == WOKEN)  /* woken only by a real release */
			fi;
			was_locked = 0
		fi;
		if :: ROUNDS > 0 -> rounds++ :: else -> skip fi
	:: else -> break
	od
}

init
{
	byte i;
	atomic {
		i = 0;
		do
		:: i < NPROC -> tq[i] = NOBODY; i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NLOCKERS -> run locker(i); i++
		:: else -> break
		od;
		if
		:: NWATCHERS > 0 -> run watcher(NLOCKERS)
		:: else -> skip
		fi
	}
}
