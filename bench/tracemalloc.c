/*
 * tracemalloc.c — what tracing costs in memory and at snapshot time, with
 * `--count` (1M) live rc_malloc blocks of 40 bytes traced at nframe 1 (one
 * line allocates them all, as the list comprehension of
 * bench/py/tracemalloc_bench.py does). The time per traced pair is
 * measured by churn.c (--nframe).
 *
 *     bench_tracemalloc memory    rc_tracemalloc_get_tracemalloc_memory()
 *                                 growth per live trace: what a trace costs
 *                                 beyond the (here constant) traceback table
 *                                 (a small rc_malloc block keeps its trace
 *                                 in a prefix: 16 bytes, counted there)
 *     bench_tracemalloc memory-objects  the same with untracked objects of
 *                                 40 bytes, whose traces are in the table
 *     bench_tracemalloc snapshot  seconds for rc_tracemalloc_take_snapshot +
 *                                 rc_snapshot_statistics(RC_KEY_LINENO)
 *
 *     [--count N] [--reps N]
 */
#include "bench.h"
#include "rcgc.h"

#define BLOCK 40

static void *must(void *p) {
    if (p == NULL)
        bench_fail("allocation failed");
    return p;
}

static const rc_type blob_type = {.name = "blob", .size = BLOCK};
static int objects; /* memory-objects: rc_new instead of rc_malloc */

/* Fills blocks[0..count) with traced blocks of one traceback. */
static BENCH_NOINLINE void allocate(rc_heap *h, void **blocks, long count) {
    for (long i = 0; i < count; i++)
        blocks[i] = must(objects ? rc_new(h, &blob_type) : rc_malloc(h, BLOCK));
}

static void release(rc_heap *h, void **blocks, long count) {
    for (long i = 0; i < count; i++) {
        if (objects)
            rc_decref(blocks[i]);
        else
            rc_free(h, blocks[i]);
    }
}

static void memory(rc_heap *h, void **blocks, long count) {
    size_t before = rc_tracemalloc_get_tracemalloc_memory(h);
    allocate(h, blocks, count);
    size_t after = rc_tracemalloc_get_tracemalloc_memory(h);
    bench_result(objects ? "memory per live trace (objects: table)"
                         : "memory per live trace (rc_malloc: prefix)",
                 (double)(after - before) / (double)count, "B");
    release(h, blocks, count);
}

static void snapshot(rc_heap *h, void **blocks, long count) {
    allocate(h, blocks, count);
    double t0 = bench_now();
    rc_snapshot *s = must(rc_tracemalloc_take_snapshot(h));
    double t1 = bench_now();
    size_t n = 0;
    rc_statistic *stats = must(rc_snapshot_statistics(s, RC_KEY_LINENO, false, &n));
    double t2 = bench_now();
    bench_info("split", "take_snapshot %.3f s, statistics %.3f s", t1 - t0, t2 - t1);
    bench_info("traces", "%zu traces, %zu statistics, top count %zu",
               rc_snapshot_trace_count(s), n, n ? stats[0].count : 0);
    bench_result("snapshot + statistics(lineno)", t2 - t0, "s");
    free(stats);
    rc_snapshot_free(s);
    release(h, blocks, count);
}

int main(int argc, char **argv) {
    long count = bench_arg(argc, argv, "--count", 1000000);
    long reps = bench_arg(argc, argv, "--reps", 1);
    const char *what = argc > 1 ? argv[1] : "";
    objects = strcmp(what, "memory-objects") == 0;
    void (*measure)(rc_heap *, void **, long) =
        strcmp(what, "memory") == 0 || objects ? memory
        : strcmp(what, "snapshot") == 0         ? snapshot
                                                : NULL;
    if (measure == NULL)
        bench_fail("usage: bench_tracemalloc memory|memory-objects|snapshot [--count N] [--reps N]");
    rc_heap *h = must(rc_heap_new());
    void **blocks = must(malloc((size_t)count * sizeof *blocks));
    for (long r = 0; r < reps; r++) {
        if (rc_tracemalloc_start(h, 1) != 0)
            bench_fail("rc_tracemalloc_start failed");
        measure(h, blocks, count);
        rc_tracemalloc_stop(h);
    }
    free(blocks);
    rc_heap_free(h);
    return 0;
}
