/* inlined.c — allocations whose call sites are in functions inlined into
 * others (at -O2 with always_inline): the traceback names each inlined
 * function at its line, then the function it was inlined into at the line
 * of that call, up to main, as if nothing had been inlined. */
#include <rcgc.h>
#include <stdio.h>

static const rc_type t = {.name = "obj", .size = 24};
static void *volatile sink[4];

static inline __attribute__((always_inline)) void *make(rc_heap *h) {
    return rc_new(h, &t); /* MAKE: line 12 */
}

static inline __attribute__((always_inline)) void *make_twice(rc_heap *h) {
    sink[2] = make(h); /* TWICE: line 16 */
    return make(h); /* TWICE_2: line 17 */
}

__attribute__((noinline)) void *outer(rc_heap *h) {
    void *p = make_twice(h); /* OUTER: line 21 */
    sink[0] = p;
    return p;
}

static void show(rc_heap *h, void *p) {
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    for (unsigned i = 0; i < tb->nframe && i < 4; i++) /* down to main */
        printf("%s%s:%u", i ? " " : "", tb->frames[i].function, tb->frames[i].lineno);
    printf("\n");
}

int main(void) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 8);
    void *p = outer(h); /* MAIN: line 36 */
    show(h, sink[2]);
    show(h, p);
    rc_decref(sink[2]);
    rc_decref(p);
    return (int)rc_heap_free(h);
}
