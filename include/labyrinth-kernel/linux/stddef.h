/*
 * linux/stddef.h - offsetof, sizeof_field, offsetofend, struct_group and
 * DECLARE_FLEX_ARRAY over the uapi header and the C library's <stddef.h>.
 */
#ifndef LAB_KERNEL_LINUX_STDDEF_H
#define LAB_KERNEL_LINUX_STDDEF_H

#include_next <linux/stddef.h>
#include <stddef.h>
#include <stdbool.h>

#define sizeof_field(TYPE, MEMBER)	sizeof((((TYPE *)0)->MEMBER))
#define offsetofend(TYPE, MEMBER)	(offsetof(TYPE, MEMBER) + sizeof_field(TYPE, MEMBER))
#define struct_group(NAME, MEMBERS...) \
	__struct_group(/* no tag */, NAME, /* no attrs */, MEMBERS)
#define struct_group_attr(NAME, ATTRS, MEMBERS...) \
	__struct_group(/* no tag */, NAME, ATTRS, MEMBERS)
#define struct_group_tagged(TAG, NAME, MEMBERS...) \
	__struct_group(TAG, NAME, /* no attrs */, MEMBERS)
#define DECLARE_FLEX_ARRAY(TYPE, NAME)	__DECLARE_FLEX_ARRAY(TYPE, NAME)

#endif /* LAB_KERNEL_LINUX_STDDEF_H */
