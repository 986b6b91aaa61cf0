/* gap_main.c — with gap_late.c, a program linked as `gap_main.c librcgc.a
 * gap_late.c` (absolute paths, as CMake compiles) against a librcgc.a
 * without .debug_aranges (as Clang builds it): the library's code lies
 * between two units that have aranges, where dwfl_module_addrdie answers
 * the lower one (gap_main.c), and the library's frames must still be told
 * apart from the program's. */
#include <rcgc.h>
#include <stdio.h>

void *late(rc_heap *h);

static const rc_type t = {.name = "obj", .size = 24};

__attribute__((noinline)) static void *early(rc_heap *h) {
    return rc_new(h, &t); /* line 15 */
}

static void show(rc_heap *h, void *p) {
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    for (unsigned i = 0; i < tb->nframe && i < 2; i++)
        printf("%s%s:%u", i ? " " : "", tb->frames[i].function, tb->frames[i].lineno);
    printf("\n");
}

int main(void) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 8);
    void *p = early(h); /* line 28 */
    void *q = late(h); /* line 29 */
    show(h, p);
    show(h, q);
    rc_decref(p);
    rc_decref(q);
    return (int)rc_heap_free(h);
}
