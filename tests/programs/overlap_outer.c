/* overlap_outer.c — with overlap_mid.c: two units whose functions
 * interleave (o1 here, o2 there, o3 here: -ffunction-sections, linked with
 * --sort-section=name), this one's ranges made to overlap the other's:
 * test_tracemalloc_e2e.c's script edits its assembly so that its ranges
 * are [o1, end of o3) and [o2, o3): both hold o2 too, and the first
 * reaches past the second to hold o3. */
#include <rcgc.h>

void *o2(rc_heap *h);

__attribute__((noinline)) void *o1(rc_heap *h) {
    void *p = o2(h); /* line 12 */
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void *o3(rc_heap *h) {
    void *p = (rc_malloc)(h, 40); /* line 18: the call, not the macro */
    __asm__ volatile("" ::: "memory");
    return p;
}
