/* The plugin host.c loads after plugb.so is gone, most likely where
 * plugb.so was. */
#include <rcgc.h>

static const rc_type c_type = {.name = "c_obj", .size = 64};

__attribute__((noinline)) static void *c_inner(rc_heap *h) {
    void *p = rc_new(h, &c_type); /* C_NEW: line 8 */
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void *plugin_alloc(rc_heap *h) {
    void *p = c_inner(h); /* C_CALL: line 14 */
    __asm__ volatile("" ::: "memory");
    return p;
}
