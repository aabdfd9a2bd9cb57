/*
 * linux/errno.h - error numbers: the uapi ones (the C library's, through the
 * same file) and the kernel's internal ones that never reach userspace.
 * The C library includes this file too (bits/errno.h).
 */
#ifndef LAB_KERNEL_LINUX_ERRNO_H
#define LAB_KERNEL_LINUX_ERRNO_H

#include_next <linux/errno.h>

#define ERESTARTSYS	512
#define ERESTARTNOINTR	513
#define ERESTARTNOHAND	514
#define ENOIOCTLCMD	515
#define ERESTART_RESTARTBLOCK 516
#define EPROBE_DEFER	517
#define EOPENSTALE	518
#define ENOPARAM	519
#define EBADHANDLE	521
#define ENOTSYNC	522
#define EBADCOOKIE	523
#define ENOTSUPP	524
#define ETOOSMALL	525
#define ESERVERFAULT	526
#define EBADTYPE	527
#define EJUKEBOX	528
#define EIOCBQUEUED	529
#define ERECALLCONFLICT	530
#define ENOGRACE	531

#endif /* LAB_KERNEL_LINUX_ERRNO_H */
