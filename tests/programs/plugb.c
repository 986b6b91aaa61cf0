/* A plugin the host (host.c) loads with dlopen and unloads with dlclose
 * while what it allocated lives on; its lines are the markers host.c's
 * test looks for. */
#include <rcgc.h>

static const rc_type b_type = {.name = "b_obj", .size = 32};

__attribute__((noinline)) static void *b_inner(rc_heap *h) {
    void *p = rc_new(h, &b_type); /* B_NEW: line 9 */
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void *plugin_alloc(rc_heap *h) {
    void *p = b_inner(h); /* B_CALL: line 15 */
    __asm__ volatile("" ::: "memory");
    return p;
}
