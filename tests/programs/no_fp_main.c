/* no_fp_main.c — built with frame pointers; calls no_fp.c's busy(), which
 * calls back leaf(). Prints the traceback of an object leaf() made. */
#include <rcgc.h>
#include <stdio.h>

long busy(rc_heap *h, long *a, void **out, int n);
static const rc_type obj_type = {.name = "obj", .size = 8};

__attribute__((noinline)) void *leaf(rc_heap *h, long k) {
    (void)k;
    void *p = rc_new(h, &obj_type); /* LEAF: line 11 */
    return p;
}

int main(void) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 16);
    long a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    void *out[8];
    long r = busy(h, a, out, 8);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, out[3]);
    for (unsigned i = 0; i < tb->nframe; i++)
        printf("%s:%u\n", tb->frames[i].filename, tb->frames[i].lineno);
    for (int i = 0; i < 8; i++)
        rc_decref(out[i]);
    return (int)rc_heap_free(h) + (r == 0);
}
