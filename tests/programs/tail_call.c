/* tail_call.c — an allocation whose function tail-calls the library
 * (`return rc_new(...)` compiles to a jump at -O2): its own frame is gone
 * from the stack, and the first native frame is its caller's, which the
 * traceback must keep. Prints the traceback of each object. */
#include <rcgc.h>
#include <stdio.h>

static const rc_type t = {.name = "obj", .size = 24};
static void *volatile sink[4];

__attribute__((noinline)) void *make_tail(rc_heap *h) {
    return rc_new(h, &t); /* TAIL: line 12 */
}

__attribute__((noinline)) void *make_kept(rc_heap *h) {
    void *p = rc_new(h, &t); /* KEPT: line 16 */
    sink[0] = p;
    return p;
}

__attribute__((noinline)) void *outer(rc_heap *h, int tail) {
    void *p = tail ? make_tail(h) /* OUTER_TAIL: line 22 */
                   : make_kept(h); /* OUTER_KEPT: line 23 */
    sink[1] = p;
    return p;
}

static void show(rc_heap *h, const char *what, void *p) {
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    printf("%s:", what);
    for (unsigned i = 0; i < tb->nframe && i < 3; i++)
        printf(" %s:%u", tb->frames[i].function, tb->frames[i].lineno);
    printf("\n");
}

int main(void) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 8);
    void *a = outer(h, 1); /* MAIN_TAIL: line 39 */
    void *b = outer(h, 0); /* MAIN_KEPT: line 40 */
    show(h, "tail", a);
    show(h, "kept", b);
    rc_decref(a);
    rc_decref(b);
    return (int)rc_heap_free(h);
}
