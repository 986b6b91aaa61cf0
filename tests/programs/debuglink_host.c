/* debuglink_host.c — allocates through debuglink_lib.c's lib_call and
 * prints the library's frame of the traceback as function:line. */
#include <rcgc.h>
#include <stdio.h>

void *lib_call(void *(*make)(void));

static rc_heap *h;

static void *make(void) {
    return rc_malloc(h, 32);
}

int main(void) {
    h = rc_heap_new();
    rc_tracemalloc_start(h, 4);
    void *p = lib_call(make);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    if (tb == NULL || tb->nframe < 2)
        return 1;
    printf("%s:%u\n", tb->frames[1].function, tb->frames[1].lineno);
    rc_free(h, p);
    return (int)rc_heap_free(h);
}
