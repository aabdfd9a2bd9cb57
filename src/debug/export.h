/*
 * export.h - the zones the live export shows (export.c): zone.c adds and
 * removes them.
 */
#ifndef LAB_DEBUG_EXPORT_H
#define LAB_DEBUG_EXPORT_H

#include "page/zone.h"

void lab__stats_zone_add(struct lab_zone *z);
void lab__stats_zone_del(struct lab_zone *z);

#endif /* LAB_DEBUG_EXPORT_H */
