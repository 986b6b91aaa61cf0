/* tracemalloc.c — allocation tracing. PLACEHOLDER while it is written. */
#include "internal.h"

void rc__trace_alloc(rc_heap *h, const void *ptr, size_t size, const char *file, int line,
                     const char *func) {
    (void)h; (void)ptr; (void)size; (void)file; (void)line; (void)func;
}
void rc__trace_free(rc_heap *h, const void *ptr) { (void)h; (void)ptr; }
void rc__tracer_fini(rc_heap *h) { h->tracer = NULL; }
void rc__trace_describe(rc_heap *h, const void *ptr, char *buf, size_t len) {
    (void)h; (void)ptr;
    if (len) buf[0] = '\0';
}
