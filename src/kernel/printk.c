/*
 * printk.c - the kernel log for code running over Labyrinth: printk with
 * levels and continuation lines, the kernel's %p extensions, print_hex_dump,
 * per-site rate limits, and the WARN / BUG / dump_stack reports.
 *
 * A message is formatted into a buffer on the stack and written to stderr
 * with one write(2), so messages of concurrent threads do not interleave
 * within a line.  Uses snprintf for the standard conversions: callable from
 * atomic context (it never sleeps on a lock of ours), not from a signal
 * handler, and never from an allocation path.
 *
 * Exports lab_kernel_printk, lab_kernel_vprintk, lab_kernel_print_hex_dump,
 * lab_kernel_ratelimit, lab_kernel_warn, lab_kernel_bug, lab_kernel_warnings,
 * lab_kernel_dump_stack, lab__kernel_log, lab__kernel_print_trace.
 */
#include "kernel.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024
#define MESSAGE_LOGLEVEL_DEFAULT 4	/* printk() without KERN_*: KERN_WARNING */

struct out {
	char *buf;
	size_t len, cap;
};

static void put_mem(struct out *o, const char *s, size_t n)
{
	if (o->len + n >= o->cap)
		n = o->cap - 1 - o->len;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put_mem(o, s, strlen(s));
}

/*
 * Append a formatted piece, truncating at the buffer's end.  Through put_spec
 * the format is one conversion of the caller's, rebuilt: not a literal by
 * construction (format() checks the conversion and passes the argument of
 * the type it names).
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void put_vfmt(struct out *o, const char *fmt, va_list ap)
{
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	if (n > 0)
		o->len = (size_t)n < o->cap - o->len ? o->len + (size_t)n : o->cap - 1;
}
#pragma GCC diagnostic pop

static void put_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put_vfmt(o, fmt, ap);
	va_end(ap);
}

static void put_spec(struct out *o, const char *spec, ...)
{
	va_list ap;
	va_start(ap, spec);
	put_vfmt(o, spec, ap);
	va_end(ap);
}

/* %pe: the error's name, as the kernel's errname(). */
static const char *errname(long err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" }, { EINTR, "EINTR" },
		{ EIO, "EIO" }, { ENXIO, "ENXIO" }, { E2BIG, "E2BIG" }, { EBADF, "EBADF" },
		{ EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
		{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
		{ ENODEV, "ENODEV" }, { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" },
		{ ERANGE, "ERANGE" }, { EDEADLK, "EDEADLK" }, { ENOSYS, "ENOSYS" },
		{ ENODATA, "ENODATA" }, { ETIME, "ETIME" }, { EOVERFLOW, "EOVERFLOW" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { ETIMEDOUT, "ETIMEDOUT" }, { EALREADY, "EALREADY" },
		{ EINPROGRESS, "EINPROGRESS" }, { ECANCELED, "ECANCELED" }, { ENOTSUP, "ENOTSUP" },
		{ 512, "ERESTARTSYS" }, { 517, "EPROBE_DEFER" }, { 524, "ENOTSUPP" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (-err == names[i].err)
			return names[i].name;
	return NULL;
}

/* %pS and friends: symbol+0xoffset when the dynamic symbol table knows it. */
static void put_symbol(struct out *o, const void *addr, bool offset)
{
	Dl_info info;
	if (dladdr(addr, &info) && info.dli_sname && info.dli_saddr) {
		put_str(o, info.dli_sname);
		if (offset)
			put_fmt(o, "+0x%lx", (unsigned long)((uintptr_t)addr - (uintptr_t)info.dli_saddr));
		return;
	}
	if (dladdr(addr, &info) && info.dli_fname && info.dli_fbase) {
		const char *base = strrchr(info.dli_fname, '/');
		put_fmt(o, "%s+0x%lx", base ? base + 1 : info.dli_fname,
			(unsigned long)((uintptr_t)addr - (uintptr_t)info.dli_fbase));
		return;
	}
	put_fmt(o, "0x%lx", (unsigned long)(uintptr_t)addr);
}

struct va_format {	/* the kernel's, for %pV */
	const char *fmt;
	va_list *va;
};

static void format(struct out *o, const char *fmt, va_list ap);

/* A %p conversion: fmt points after the 'p'; returns the chars consumed. */
static size_t put_pointer(struct out *o, const char *fmt, const void *p, int width)
{
	size_t used = 0;
	switch (fmt[0]) {
	case 'S': case 's': case 'F': case 'f': case 'B':
		used = 1;
		if (fmt[1] == 'R' || fmt[1] == 'b')
			used = 2;
		put_symbol(o, p, fmt[0] != 's' && fmt[0] != 'f');
		return used;
	case 'e': {
		long err = (long)(intptr_t)p;
		const char *name = err < 0 && err >= -4095 ? errname(err) : NULL;
		if (name)
			put_fmt(o, "-%s", name);
		else if (err < 0 && err >= -4095)
			put_fmt(o, "%ld", err);
		else
			put_fmt(o, "%016lx", (unsigned long)(uintptr_t)p);
		return 1;
	}
	case 'a': {
		used = 1;
		if (fmt[1] == 'd' || fmt[1] == 'p')
			used = 2;
		unsigned long long v = p ? *(const unsigned long long *)p : 0;
		put_fmt(o, "0x%016llx", v);
		return used;
	}
	case 'h': {
		char sep = ' ';
		used = 1;
		if (fmt[1] == 'C' || fmt[1] == 'D' || fmt[1] == 'N') {
			sep = fmt[1] == 'C' ? ':' : fmt[1] == 'D' ? '-' : '\0';
			used = 2;
		}
		int n = width < 0 ? 1 : width > 64 ? 64 : width;
		const unsigned char *b = p;
		for (int i = 0; b && i < n; i++) {
			if (i && sep)
				put_mem(o, &sep, 1);
			put_fmt(o, "%02x", b[i]);
		}
		return used;
	}
	case 'V': {
		const struct va_format *vaf = p;
		va_list copy;
		va_copy(copy, *vaf->va);
		format(o, vaf->fmt, copy);
		va_end(copy);
		return 1;
	}
	default:
		/* %px, %pK, plain %p (the kernel hashes it; no secret here), and
		 * extensions not handled here: the address, the letters eaten. */
		while (isalnum((unsigned char)fmt[used]))
			used++;
		put_fmt(o, "%016lx", (unsigned long)(uintptr_t)p);
		return used;
	}
}

/* vsnprintf with the kernel's %p extensions: each conversion is handed to
 * snprintf alone, with the argument type its length modifier names. */
static void format(struct out *o, const char *fmt, va_list ap)
{
	while (*fmt) {
		const char *pct = strchr(fmt, '%');
		if (!pct) {
			put_str(o, fmt);
			return;
		}
		put_mem(o, fmt, (size_t)(pct - fmt));
		const char *s = pct + 1;
		if (*s == '%') {
			put_mem(o, "%", 1);
			fmt = s + 1;
			continue;
		}
		char spec[32];
		size_t sl = 0;
		int width = -1, prec = -1;
		spec[sl++] = '%';
		while (*s && strchr("-+ #0", *s) && sl < 8)
			spec[sl++] = *s++;
		if (*s == '*') {
			width = va_arg(ap, int);
			s++;
			sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, "%d", width);
		} else {
			/* By hand: glibc's atoi() is an inline strtol() when optimised. */
			while (isdigit((unsigned char)*s) && sl < 16) {
				if (width < 0)
					width = 0;
				if (width < 100000)
					width = width * 10 + (*s - '0');
				spec[sl++] = *s++;
			}
		}
		if (*s == '.') {
			spec[sl++] = *s++;
			if (*s == '*') {
				prec = va_arg(ap, int);
				s++;
				sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, "%d", prec);
			} else {
				while (isdigit((unsigned char)*s) && sl < 24)
					spec[sl++] = *s++;
			}
		}
		char len[3] = "";
		if (*s == 'h' || *s == 'l') {
			len[0] = *s++;
			if (*s == len[0])
				len[1] = *s++;
		} else if (*s == 'z' || *s == 't' || *s == 'j' || *s == 'L' || *s == 'q') {
			len[0] = *s++;
		}
		char conv = *s;
		if (!conv) {
			put_str(o, pct);
			return;
		}
		s++;
		fmt = s;
		if (conv == 'p') {
			fmt += put_pointer(o, s, va_arg(ap, void *), width);
			continue;
		}
		if (conv == 'n') {	/* refused, as the kernel refuses it */
			(void)va_arg(ap, void *);
			continue;
		}
		/* The length modifier goes back in ('q' is the kernel's "ll"). */
		if (len[0] == 'q')
			memcpy(len, "ll", 3);
		size_t ll = strlen(len);
		memcpy(spec + sl, len, ll);
		sl += ll;
		spec[sl++] = conv;
		spec[sl] = '\0';
		switch (conv) {
		case 'd': case 'i':
			if (!strcmp(len, "l"))
				put_spec(o, spec, va_arg(ap, long));
			else if (!strcmp(len, "ll"))
				put_spec(o, spec, va_arg(ap, long long));
			else if (!strcmp(len, "z"))
				put_spec(o, spec, va_arg(ap, ssize_t));
			else if (!strcmp(len, "t"))
				put_spec(o, spec, va_arg(ap, ptrdiff_t));
			else if (!strcmp(len, "j"))
				put_spec(o, spec, va_arg(ap, intmax_t));
			else
				put_spec(o, spec, va_arg(ap, int));
			break;
		case 'u': case 'o': case 'x': case 'X':
			if (!strcmp(len, "l"))
				put_spec(o, spec, va_arg(ap, unsigned long));
			else if (!strcmp(len, "ll"))
				put_spec(o, spec, va_arg(ap, unsigned long long));
			else if (!strcmp(len, "z"))
				put_spec(o, spec, va_arg(ap, size_t));
			else if (!strcmp(len, "t"))
				put_spec(o, spec, va_arg(ap, ptrdiff_t));
			else if (!strcmp(len, "j"))
				put_spec(o, spec, va_arg(ap, uintmax_t));
			else
				put_spec(o, spec, va_arg(ap, unsigned int));
			break;
		case 'c':
			put_spec(o, spec, va_arg(ap, int));
			break;
		case 's':
			put_spec(o, spec, va_arg(ap, const char *));
			break;
		case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
			if (len[0] == 'L')
				put_spec(o, spec, va_arg(ap, long double));
			else
				put_spec(o, spec, va_arg(ap, double));
			break;
		default:	/* not a conversion: print it as written */
			put_mem(o, pct, (size_t)(s - pct));
			break;
		}
	}
}

static lab_spinlock_t log_lock = LAB_SPINLOCK_INIT;
static bool line_open;	/* the last message did not end its line (under log_lock) */

static void emit(int level, bool cont, const char *text, size_t n)
{
	if (level >= lab_kernel_loglevel || n == 0)
		return;
	lab_spin_lock(&log_lock);
	/* A message that is not a continuation starts a line, as in the kernel. */
	if (line_open && !cont)
		(void)!write(STDERR_FILENO, "\n", 1);
	(void)!write(STDERR_FILENO, text, n);
	line_open = text[n - 1] != '\n';
	lab_spin_unlock(&log_lock);
}

static int level_of(const char **fmt, bool *cont)
{
	int level = -1;
	*cont = false;
	while ((*fmt)[0] == '\001' && (*fmt)[1]) {
		char c = (*fmt)[1];
		if (c >= '0' && c <= '7')
			level = c - '0';
		else if (c == 'c')
			*cont = true;
		*fmt += 2;
	}
	return level;
}

static int cont_level = MESSAGE_LOGLEVEL_DEFAULT;	/* a KERN_CONT line keeps its level */

int lab_kernel_vprintk(const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];
	struct out o = { buf, 0, sizeof(buf) };
	bool cont;
	int level = level_of(&fmt, &cont);
	if (level < 0)
		level = cont ? __atomic_load_n(&cont_level, __ATOMIC_RELAXED) : MESSAGE_LOGLEVEL_DEFAULT;
	else
		__atomic_store_n(&cont_level, level, __ATOMIC_RELAXED);
	buf[0] = '\0';
	va_list copy;
	va_copy(copy, ap);
	format(&o, fmt, copy);
	va_end(copy);
	emit(level, cont, buf, o.len);
	return (int)o.len;
}

int lab_kernel_printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = lab_kernel_vprintk(fmt, ap);
	va_end(ap);
	return n;
}

void lab__kernel_log(int level, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	struct out o = { buf, 0, sizeof(buf) };
	buf[0] = '\0';
	va_list ap;
	va_start(ap, fmt);
	format(&o, fmt, ap);
	va_end(ap);
	emit(level, false, buf, o.len);
}

void lab_kernel_print_hex_dump(const char *level, const char *prefix, int prefix_type,
			       int rowsize, int groupsize, const void *buf, size_t len, bool ascii)
{
	bool cont;
	const char *lv = level;
	int lvl = level_of(&lv, &cont);
	if (lvl < 0)
		lvl = MESSAGE_LOGLEVEL_DEFAULT;
	if (rowsize != 16 && rowsize != 32)
		rowsize = 16;
	if (groupsize != 1 && groupsize != 2 && groupsize != 4 && groupsize != 8)
		groupsize = 1;
	const unsigned char *p = buf;
	for (size_t i = 0; i < len; i += (size_t)rowsize) {
		size_t n = len - i < (size_t)rowsize ? len - i : (size_t)rowsize;
		char line[LOG_LINE_MAX];
		struct out o = { line, 0, sizeof(line) };
		line[0] = '\0';
		put_str(&o, prefix);
		if (prefix_type == 1)
			put_fmt(&o, "%p: ", (const void *)(p + i));
		else if (prefix_type == 2)
			put_fmt(&o, "%.8zx: ", i);
		size_t g = (size_t)groupsize;
		if (n % g)
			g = 1;
		for (size_t j = 0; j < n; j += g) {
			if (j)
				put_str(&o, " ");
			/* Groups print as little-endian numbers, as the kernel's. */
			for (size_t k = g; k-- > 0;)
				put_fmt(&o, "%02x", p[i + j + k]);
		}
		if (ascii) {
			size_t groups = (size_t)rowsize / g;
			size_t pad = (groups - n / g) * (2 * g + 1) + 2;
			for (size_t j = 0; j < pad; j++)
				put_str(&o, " ");
			for (size_t j = 0; j < n; j++)
				put_fmt(&o, "%c", isprint(p[i + j]) ? p[i + j] : '.');
		}
		put_str(&o, "\n");
		emit(lvl, false, line, o.len);
	}
}

bool lab_kernel_ratelimit(struct lab_kernel_ratelimit *rs)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	long long begin = __atomic_load_n(&rs->begin_ns, __ATOMIC_RELAXED);
	if (!begin || now - begin >= 5000000000LL) {
		int missed = __atomic_exchange_n(&rs->missed, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&rs->begin_ns, now, __ATOMIC_RELAXED);
		__atomic_store_n(&rs->printed, 0, __ATOMIC_RELAXED);
		if (missed)
			lab__kernel_log(4, "%d callbacks suppressed\n", missed);
	}
	if (__atomic_fetch_add(&rs->printed, 1, __ATOMIC_RELAXED) < 10)
		return true;
	__atomic_fetch_add(&rs->missed, 1, __ATOMIC_RELAXED);
	return false;
}

void lab__kernel_print_trace(void)
{
	void *frames[32];
	int n = backtrace(frames, 32);
	lab__kernel_log(4, "Call Trace:\n");
	/* Frame 0 is this function, 1 the report's: start at the caller. */
	for (int i = 2; i < n; i++) {
		char line[256];
		struct out o = { line, 0, sizeof(line) };
		line[0] = '\0';
		put_str(&o, " ");
		put_symbol(&o, frames[i], true);
		put_str(&o, "\n");
		emit(4, false, line, o.len);
	}
}

static void print_task(void)
{
	char comm[17] = "";
	prctl(PR_GET_NAME, comm);
	lab__kernel_log(4, "CPU: %d PID: %d Comm: %s Tainted: %s\n", sched_getcpu(), (int)getpid(),
			comm, lab_kernel_warnings() ? "G        W" : "G");
}

void lab_kernel_dump_stack(void)
{
	print_task();
	lab__kernel_print_trace();
}

static unsigned long warnings;

unsigned long lab_kernel_warnings(void)
{
	return __atomic_load_n(&warnings, __ATOMIC_RELAXED);
}

void lab_kernel_warn(const char *file, int line, const char *func, const char *fmt, ...)
{
	__atomic_fetch_add(&warnings, 1, __ATOMIC_RELAXED);
	lab__kernel_log(4, "------------[ cut here ]------------\n");
	if (fmt) {
		char buf[LOG_LINE_MAX];
		struct out o = { buf, 0, sizeof(buf) };
		buf[0] = '\0';
		va_list ap;
		va_start(ap, fmt);
		format(&o, fmt, ap);
		va_end(ap);
		emit(4, false, buf, o.len);
		if (o.len && buf[o.len - 1] != '\n')
			emit(4, true, "\n", 1);
	}
	lab__kernel_log(4, "WARNING: CPU: %d PID: %d at %s:%d %s\n", sched_getcpu(), (int)getpid(),
			file, line, func);
	print_task();
	lab__kernel_print_trace();
	lab__kernel_log(4, "---[ end trace 0000000000000000 ]---\n");
	if (lab__kernel_panic_on_warn) {
		lab__kernel_log(0, "Kernel panic - not syncing: kernel: panic_on_warn set ...\n");
		abort();
	}
}

void lab_kernel_bug(const char *file, int line, const char *func)
{
	lab__kernel_log(0, "------------[ cut here ]------------\n");
	lab__kernel_log(0, "kernel BUG at %s:%d!\n", file, line);
	lab__kernel_log(0, "Oops: invalid opcode: 0000 [#1] PREEMPT SMP\n");
	print_task();
	lab__kernel_log(4, "RIP: %s\n", func);
	lab__kernel_print_trace();
	lab__kernel_log(0, "---[ end trace 0000000000000000 ]---\n");
	abort();
}
