/* linux/compiler_types.h - in linux/compiler.h (labyrinth-kernel). */
#include <linux/compiler.h>
