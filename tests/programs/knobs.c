/* knobs.c — whether RCGC_DEBUG took effect: in the debug heap rc_realloc
 * always moves a block past 4096 bytes, elsewhere it asks realloc, which
 * shrinks such a block (below the mmap threshold) where it is. Run setuid
 * by test_tracemalloc_e2e.c's secure_program_ignores_knobs. */
#include <rcgc.h>
#include <stdio.h>

int main(void) {
    rc_heap *h = rc_heap_new();
    void *p = rc_malloc(h, 20000), *q = rc_realloc(h, p, 10000);
    puts(q == p ? "kept in place" : "moved (RCGC_DEBUG)");
    rc_free(h, q);
    return (int)rc_heap_free(h);
}
