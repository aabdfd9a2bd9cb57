/* linux/mmdebug.h - VM_BUG_ON and friends: in linux/bug.h. */
#include <linux/bug.h>
