/* in_shared.c — a shared object with librcgc.a linked into it (whole
 * archive), as a plugin or library that embeds rcgc would be: its frames,
 * and the program's that calls it, are the user's; only rcgc's code in it
 * is dropped from tracebacks. */
#include <rcgc.h>

static const rc_type t = {.name = "obj", .size = 16};

__attribute__((noinline)) void *inner(rc_heap *h) {
    void *p = rc_new(h, &t); /* INNER: line 10 */
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void *outer(rc_heap *h) {
    void *p = inner(h); /* OUTER: line 16 */
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void *outer_real(rc_heap *h) {
    void *p = (rc_new)(h, &t); /* REAL: line 22 */
    __asm__ volatile("" ::: "memory");
    return p;
}
