#!/bin/bash
# undefined.sh - what each object of the library may call outside itself:
# its undefined symbols (nm -u) against an allow-list.
#
# Usage: undefined.sh NM ARCHIVE...  (liblabyrinth.a, the malloc layer's
# objects liblabyrinth-malloc-objs.a, [liblabyrinth-kernel-objects.a])
#
# Every object may use the library's own symbols (lab_*, lab__*), the string
# and memory functions below, errno, abort() and what the toolchain inserts
# (sanitizers, coverage, the stack protector, TLS and atomics helpers).
# Nothing else: not the malloc family, not stdio, not snprintf (base/fmt.c
# formats), not threads, the environment, the clock or any system call.
# Those belong to the OS layer, and only the objects of src/os and the three
# FILE* dump files may reach further, each with what it uses listed below by
# name, so that a new call into libc is a decision written down here.
#
# The kernel layer's library (src/kernel, the second archive) is a client of
# the public ABI with calls of its own (it cannot reach src/os); its objects
# are listed the same way: what kmem_cache_alloc/free, mempools, RCU and the
# interrupt state run on calls no malloc and no stdio; printk, the boot
# parameters and the module runner use stdio by design.
#
# Exit status: 0 clean, 1 with each object's unexpected symbols, 77 (skip)
# when nm is missing.
set -u
NM=$1
shift

command -v "$NM" >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }

# Everyone: async-signal-safe, no allocation, no locks.
common='lab_[A-Za-z0-9_]+|memcpy|memmove|memset|memcmp|memchr|strlen|strnlen|strcmp|strncmp'
common+='|strchr|strrchr|strcspn|__errno_location|abort'
# The toolchain's own.
common+='|_GLOBAL_OFFSET_TABLE_|__tls_get_addr|__stack_chk_fail|__atomic_[a-z_0-9]+'
common+='|__(asan|ubsan|lsan|tsan|msan|sanitizer|sancov|gcov|llvm)_[A-Za-z0-9_]+|__odr_asan\..*'
common+='|__cyg_profile_func_(enter|exit)|mangle_path'

# Objects that may use more (archive member names: src_<folder>_<file>.c.o).
declare -A extra=(
	# Pure parsing of LABYRINTH_DEBUG: ctype, no locale switch.
	[src_base_option.c.o]='__ctype_b_loc|__ctype_tolower_loc|tolower|isspace'
	# lab_fault_configure's numbers (an API call, never an allocation).
	[src_debug_fault.c.o]='strtol'
	# The FILE* dumps: stdio, never on an allocation or free path.
	[src_debug_dump.c.o]='fprintf|fputs|fputc|fflush|fwrite|putc|stderr|stdout'
	[src_secure_describe.c.o]='fprintf|fputs|fputc|fflush|fwrite|putc'
	[src_slab_slabinfo.c.o]='fputs|fwrite|fflush'
	# The OS layer, call by call (open and read: the possible-CPU mask, once).
	[src_os_linux.c.o]='mmap|mmap64|munmap|mprotect|madvise|syscall|sysconf|sched_yield|clock_gettime|prctl|write|strerror_r|shm_open|shm_unlink|ftruncate|ftruncate64|fstat|fstat64|__fxstat64|close|opendir|readdir|readdir64|closedir|kill|mremap|fcntl|fcntl64|dlsym|__rseq_offset|__rseq_size|__start___rseq_cs|__stop___rseq_cs|__start___rseq_failure|__stop___rseq_failure|open|open64|read|getrlimit|getrlimit64|strcpy|strstr'
	[src_os_arch_x86_64_pkey.c.o]='syscall'
	[src_os_thread.c.o]='pthread_[a-z_]+|sigfillset|atexit|getpid|clock_gettime'
	[src_os_stack.c.o]='backtrace|backtrace_symbols_fd|dladdr1'
	[src_os_env.c.o]='environ|__environ'
	[src_os_printk.c.o]=''
	# The kernel layer (liblabyrinth-kernel).  Caches: the list's mutex and
	# the name, at kmem_cache_create/destroy (and the runner's look) only.
	[src_kernel_slab.c.o]='pthread_mutex_lock|pthread_mutex_unlock|snprintf'
	# mempool_t's sleepers wait on a futex word.
	[src_kernel_mempool.c.o]='syscall'
	# RCU is liburcu-bp's.
	[src_kernel_rcu.c.o]='urcu_bp_[a-z_]+'
	[src_kernel_context.c.o]=''
	[src_kernel_kstrtox.c.o]=''
	# The boot parameters (LABYRINTH_KERNEL_CMDLINE) and the kernel zone.
	[src_kernel_boot.c.o]='getenv|pthread_once|fprintf|stderr|strerror|strtok_r|strcpy'
	# printk and the kernel's reports: stdio, the clock, the task's name and
	# CPU, call traces.
	[src_kernel_printk.c.o]='vsnprintf|snprintf|write|__ctype_b_loc|clock_gettime|getpid|prctl|sched_getcpu|backtrace|dladdr'
	# The module runner: its report, and lab_slabinfo() read back for the
	# objects in use per cache.
	[src_kernel_module.c.o]='printf|puts|fprintf|fwrite|stderr|strerror|open_memstream|fclose|free|strtok_r|__isoc99_sscanf|sscanf'
)

status=0
checked=0
member=
while IFS= read -r line; do
	if [[ "$line" == *.o: ]]; then
		member=${line%:}
		member=${member##*/}  # a thin archive's members carry their folder
		checked=$((checked + 1))
		case "$member" in
		src_base_* | src_os_* | src_page_* | src_secure_* | src_debug_* | src_slab_* | \
		src_malloc_* | src_kernel_*) ;;
		*) echo "FAIL: $member: an object in no layer folder"; status=1;;
		esac
		continue
	fi
	sym=$(awk '{ print $NF }' <<<"$line")
	[ -n "$sym" ] || continue
	allowed="^($common${extra[$member]:+|${extra[$member]}})\$"
	if ! [[ "$sym" =~ $allowed ]]; then
		echo "FAIL: $member uses $sym"
		status=1
	fi
done < <(for A in "$@"; do "$NM" -u "$A" 2>/dev/null; done)

[ "$checked" -gt 0 ] || { echo "FAIL: nm listed no objects in $*"; exit 1; }
[ $status = 0 ] && echo "undefined: $checked objects call only what their layer may"
exit $status
