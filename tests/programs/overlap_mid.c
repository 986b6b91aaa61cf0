/* overlap_mid.c — the unit between overlap_outer.c's functions, and the
 * program: it prints the frames of an allocation made through o1, o2 (in
 * this unit, within the other one's ranges, but first in the walk of the
 * units) and o3 (past this unit's range, in the other's). */
#include <rcgc.h>
#include <stdio.h>

void *o1(rc_heap *h);
void *o3(rc_heap *h);

__attribute__((noinline)) void *o2(rc_heap *h) {
    void *p = o3(h); /* line 12 */
    __asm__ volatile("" ::: "memory");
    return p;
}

int main(void) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 8);
    void *p = o1(h); /* line 20 */
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    for (unsigned i = 0; i < tb->nframe && i < 4; i++)
        printf("%s%s:%u", i ? " " : "", tb->frames[i].function, tb->frames[i].lineno);
    printf("\n");
    rc_free(h, p);
    return (int)rc_heap_free(h);
}
