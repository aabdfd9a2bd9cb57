/*
 * linux/gfp_types.h - the kernel's GFP flags as Labyrinth's LAB_GFP_* bits.
 *
 * The flags that decide how an allocation behaves map one to one: HIGH (dip
 * into the reserve), DIRECT_RECLAIM (may sleep), KSWAPD_RECLAIM, ZERO,
 * NOWARN, NOFAIL, NORETRY, RETRY_MAYFAIL, MEMALLOC, COMP.  So GFP_KERNEL,
 * GFP_ATOMIC and GFP_NOWAIT are exactly LAB_GFP_KERNEL, LAB_GFP_ATOMIC and
 * LAB_GFP_NOWAIT, and allocations keep the kernel's watermarks, reserves and
 * reclaim rules (README, "The GFP classes").
 *
 * Kernel bits with no meaning here are 0, so they pass through everything
 * and never make an allocation fail with EINVAL:
 *   - zone modifiers (__GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM, __GFP_MOVABLE)
 *     and mobility hints (__GFP_RECLAIMABLE): a Labyrinth zone is one zone of
 *     directly mapped memory;
 *   - __GFP_IO and __GFP_FS: reclaim here runs shrinkers, never I/O or a
 *     filesystem, so GFP_NOIO, GFP_NOFS and GFP_KERNEL all reclaim alike
 *     (and compare equal: kernel code that tells them apart by value sees
 *     one context);
 *   - __GFP_NOMEMALLOC: there are no PF_MEMALLOC tasks, so only an explicit
 *     __GFP_MEMALLOC ignores the watermarks;
 *   - node, cpuset, memcg and KASAN/lockdep hints (__GFP_THISNODE,
 *     __GFP_HARDWALL, __GFP_ACCOUNT, __GFP_WRITE, __GFP_ZEROTAGS,
 *     __GFP_SKIP_ZERO, __GFP_SKIP_KASAN, __GFP_NOLOCKDEP, __GFP_NO_OBJ_EXT).
 */
#ifndef LAB_KERNEL_LINUX_GFP_TYPES_H
#define LAB_KERNEL_LINUX_GFP_TYPES_H

#include <labyrinth.h>
#include <linux/types.h>

_Static_assert(__builtin_types_compatible_p(gfp_t, lab_gfp_t), "gfp_t is lab_gfp_t");

#define __GFP_HIGH		((gfp_t)LAB_GFP_HIGH)
#define __GFP_ZERO		((gfp_t)LAB_GFP_ZERO)
#define __GFP_NOWARN		((gfp_t)LAB_GFP_NOWARN)
#define __GFP_NOFAIL		((gfp_t)LAB_GFP_NOFAIL)
#define __GFP_NORETRY		((gfp_t)LAB_GFP_NORETRY)
#define __GFP_RETRY_MAYFAIL	((gfp_t)LAB_GFP_RETRY_MAYFAIL)
#define __GFP_MEMALLOC		((gfp_t)LAB_GFP_MEMALLOC)
#define __GFP_COMP		((gfp_t)LAB_GFP_COMP)
#define __GFP_DIRECT_RECLAIM	((gfp_t)LAB_GFP_DIRECT_RECLAIM)
#define __GFP_KSWAPD_RECLAIM	((gfp_t)LAB_GFP_KSWAPD_RECLAIM)
#define __GFP_RECLAIM		((gfp_t)LAB_GFP_RECLAIM)

/* No meaning here (see above). */
#define __GFP_DMA		((gfp_t)0)
#define __GFP_HIGHMEM		((gfp_t)0)
#define __GFP_DMA32		((gfp_t)0)
#define __GFP_MOVABLE		((gfp_t)0)
#define __GFP_RECLAIMABLE	((gfp_t)0)
#define __GFP_IO		((gfp_t)0)
#define __GFP_FS		((gfp_t)0)
#define __GFP_NOMEMALLOC	((gfp_t)0)
#define __GFP_WRITE		((gfp_t)0)
#define __GFP_HARDWALL		((gfp_t)0)
#define __GFP_THISNODE		((gfp_t)0)
#define __GFP_ACCOUNT		((gfp_t)0)
#define __GFP_ZEROTAGS		((gfp_t)0)
#define __GFP_SKIP_ZERO		((gfp_t)0)
#define __GFP_SKIP_KASAN	((gfp_t)0)
#define __GFP_NOLOCKDEP		((gfp_t)0)
#define __GFP_NO_OBJ_EXT	((gfp_t)0)
#define GFP_ZONEMASK		((gfp_t)0)
#define GFP_MOVABLE_MASK	((gfp_t)0)

#define __GFP_BITS_MASK		((gfp_t)LAB_GFP_ALL_BITS)

/* The kernel's compositions, letter for letter. */
#define GFP_ATOMIC		(__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL		(__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_KERNEL_ACCOUNT	(GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_NOWAIT		(__GFP_KSWAPD_RECLAIM | __GFP_NOWARN)
#define GFP_NOIO		(__GFP_RECLAIM)
#define GFP_NOFS		(__GFP_RECLAIM | __GFP_IO)
#define GFP_USER		(__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL)
#define GFP_DMA			__GFP_DMA
#define GFP_DMA32		__GFP_DMA32
#define GFP_HIGHUSER		(GFP_USER | __GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE	(GFP_HIGHUSER | __GFP_MOVABLE | __GFP_SKIP_KASAN)
#define GFP_TRANSHUGE_LIGHT	((GFP_HIGHUSER_MOVABLE | __GFP_COMP | \
				  __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM)
#define GFP_TRANSHUGE		(GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM)

_Static_assert(GFP_KERNEL == LAB_GFP_KERNEL && GFP_ATOMIC == LAB_GFP_ATOMIC &&
	       GFP_NOWAIT == LAB_GFP_NOWAIT, "the GFP classes are Labyrinth's");

#endif /* LAB_KERNEL_LINUX_GFP_TYPES_H */
