/* tracebacks.h — for the plugin hosts (host.c, unload_host.c): the
 * statistics by traceback of a snapshot of a heap's traces. */
#include <rcgc.h>
#include <stdlib.h>

/* The statistics of a snapshot of h taken now (*n of them; *s, the
 * snapshot, to free after them); exits with 3 when that fails. */
static rc_statistic *traceback_statistics(rc_heap *h, rc_snapshot **s, size_t *n) {
    *s = rc_tracemalloc_take_snapshot(h);
    *n = 0;
    rc_statistic *st = *s ? rc_snapshot_statistics(*s, RC_KEY_TRACEBACK, false, n) : NULL;
    if (st == NULL)
        exit(3);
    return st;
}
