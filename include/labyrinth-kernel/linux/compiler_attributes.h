/* linux/compiler_attributes.h - in linux/compiler.h (labyrinth-kernel). */
#include <linux/compiler.h>
