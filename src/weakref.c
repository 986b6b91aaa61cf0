/* weakref.c — weak references. PLACEHOLDER while they are written. */
#include "internal.h"

void rc__weakref_clear_on_death(rc_heap *h, void *obj) { (void)h; (void)obj; }
void rc__weakref_fini(rc_heap *h) { rc_ptrmap_free(h, &h->weakrefs); }
