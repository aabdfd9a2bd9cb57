/*
 * pkey.c - the zone's protection key from the threads' side: grants and
 * revokes (lab_zone_grant/revoke, WRPKRU, no syscall), and the write window
 * every library write to zone memory goes through (zeroing, scrubbing,
 * poisoning), so that it works whatever the calling thread's grants, in a
 * signal handler too.
 *
 * Exports lab_zone_grant/revoke and lab__zone_write_begin/end, lab__zone_wipe.
 */
#include "base/compiler.h"
#include "os/os.h"
#include "os/pkru.h"
#include "page/zone.h"
#include "secure/hooks.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

uint32_t lab__zone_write_begin(const struct lab_zone *z)
{
	if (z->pkey < 0)
		return 0;
	uint32_t saved = lab__os_pkru_read();
	if (saved & lab__os_pkru_deny_bits(z->pkey))
		lab__os_pkru_write(saved & ~lab__os_pkru_deny_bits(z->pkey));
	return saved;
}

void lab__zone_write_end(const struct lab_zone *z, uint32_t saved)
{
	/* Restore only what begin changed: a granted thread paid no WRPKRU. */
	if (z->pkey >= 0 && (saved & lab__os_pkru_deny_bits(z->pkey)))
		lab__os_pkru_write(saved);
}

void lab__zone_wipe(const struct lab_zone *z, void *addr, size_t len)
{
	uint32_t saved = lab__zone_write_begin(z);
	memset(addr, 0, len);
	/* Pretend the zeroes are read, so the compiler cannot drop the memset of
	 * memory it thinks is dead (about to be freed). */
	lab_barrier_data(addr);
	lab__zone_write_end(z, saved);
}

int lab_zone_grant(struct lab_zone *z)
{
	if (!z)
		return -EINVAL;
	if (z->pkey >= 0)
		lab__os_pkru_write(lab__os_pkru_read() & ~lab__os_pkru_deny_bits(z->pkey));
	return 0;
}

int lab_zone_revoke(struct lab_zone *z)
{
	if (!z)
		return -EINVAL;
	if (z->pkey >= 0)
		lab__os_pkru_write(lab__os_pkru_read() | lab__os_pkru_deny_bits(z->pkey));
	return 0;
}
