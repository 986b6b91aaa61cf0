/* A plugin the host (host.c) loads with dlopen and unloads with dlclose
 * while what it allocated lives on; its lines are the markers host.c's
 * test looks for. */
#include <rcgc.h>

static const rc_type b_type = {.name = "b_obj", .size = 32};

__attribute__((noinline)) static void *b_inner(rc_heap *h, size_t size) {
    void *p = rc_new_sized(h, &b_type, size); /* B_NEW: line 9 */
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void *plugin_alloc(rc_heap *h) {
    void *p = b_inner(h, 32); /* B_CALL: line 15 */
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void *plugin_alloc_late(rc_heap *h) {
    void *p = b_inner(h, 48); /* B_LATE: line 21 */
    __asm__ volatile("" ::: "memory");
    return p;
}
