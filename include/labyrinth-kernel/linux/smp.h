/* linux/smp.h - the CPU a thread runs on (sched_getcpu; a snapshot, as
 * raw_smp_processor_id() is) and the number of CPUs. */
#ifndef LAB_KERNEL_LINUX_SMP_H
#define LAB_KERNEL_LINUX_SMP_H

#include <sched.h>
#include <unistd.h>

#define raw_smp_processor_id()	sched_getcpu()
#define smp_processor_id()	sched_getcpu()
#define get_cpu()		({ lab_atomic_enter(); sched_getcpu(); })
#define put_cpu()		lab_atomic_exit()
#define num_online_cpus()	((unsigned int)sysconf(_SC_NPROCESSORS_ONLN))
#define num_possible_cpus()	((unsigned int)sysconf(_SC_NPROCESSORS_CONF))

#endif /* LAB_KERNEL_LINUX_SMP_H */
