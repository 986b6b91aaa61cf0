/* gap_late.c — the unit linked after librcgc.a (see gap_main.c). */
#include <rcgc.h>

static const rc_type t = {.name = "obj", .size = 24};

__attribute__((noinline)) void *late(rc_heap *h) {
    return rc_new(h, &t); /* line 7 */
}
