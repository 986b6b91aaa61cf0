/* lto_app.c — a program built with rcgc's sources by link-time optimization
 * in one directory, without -g, or by Clang beside a GCC-built unit (the
 * tests of test_tracemalloc_e2e.c that name it). Prints a traceback's
 * frames as file:line function. */
#include <rcgc.h>
#include <stdio.h>

static void *volatile sink;

__attribute__((noinline)) void *app_alloc(rc_heap *h) {
    void *p = rc_malloc(h, 40);
    sink = p;
    return p;
}

__attribute__((noinline)) void *app_outer(rc_heap *h) {
    void *p = app_alloc(h);
    sink = p;
    return p;
}

int main(void) {
    rc_heap *h = rc_heap_new();
    if (rc_tracemalloc_start(h, 3) != 0)
        return 1;
    void *p = app_outer(h);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    for (unsigned i = 0; tb && i < tb->nframe; i++)
        printf("%s%s:%u %s", i ? " " : "", tb->frames[i].filename, tb->frames[i].lineno,
               tb->frames[i].function ? tb->frames[i].function : "?");
    printf("\n");
    rc_free(h, p);
    return (int)rc_heap_free(h);
}
