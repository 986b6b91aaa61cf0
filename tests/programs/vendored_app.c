/* vendored_app.c — a program that builds rcgc's sources in its own
 * directory, beside this file (test_tracemalloc_e2e.c's
 * library_sources_beside_the_program): its frames are its own, not the
 * library's. Prints the functions of a traceback. */
#include <rcgc.h>
#include <stdio.h>

static void *volatile sink;

__attribute__((noinline)) void *app_alloc(rc_heap *h) {
    void *p = (rc_malloc)(h, 40);
    sink = p;
    return p;
}

int main(void) {
    rc_heap *h = rc_heap_new();
    if (rc_tracemalloc_start(h, 2) != 0)
        return 1;
    void *p = app_alloc(h);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    for (unsigned i = 0; tb && i < tb->nframe; i++)
        printf("%s%s", i ? " " : "", tb->frames[i].function ? tb->frames[i].function : "?");
    printf("\n");
    rc_free(h, p);
    return (int)rc_heap_free(h);
}
