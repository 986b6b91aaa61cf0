/* in_shared_main.c — calls into in_shared.c's shared object (which holds
 * rcgc) and prints each object's traceback down to main. */
#include <rcgc.h>
#include <stdio.h>

void *outer(rc_heap *h);
void *outer_real(rc_heap *h);

static void show(rc_heap *h, const char *what, void *p, unsigned n) {
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    printf("%s:", what);
    for (unsigned i = 0; i < tb->nframe && i < n; i++)
        printf(" %s:%u", tb->frames[i].filename, tb->frames[i].lineno);
    printf("\n");
}

int main(void) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 8);
    void *a = outer(h);      /* MAIN_A: line 20 */
    void *b = outer_real(h); /* MAIN_B: line 21 */
    show(h, "macro", a, 3);
    show(h, "real", b, 2);
    rc_decref(a);
    rc_decref(b);
    return (int)rc_heap_free(h);
}
