/*
 * churn.c — allocation churn (churn.h): `--ops` times (10M), free a random
 * one of `--live` blocks (100k) and allocate a block of a random size
 * `--min`..`--max` B (16..256) in its place. Only the steady-state churn is
 * timed: filling the live set and emptying it are not.
 *
 * Built once per allocator (peer.h). The rcgc build also takes:
 *   objects      the same churn with untracked objects (rc_new_sized +
 *                rc_decref) instead of rc_malloc/rc_free;
 *   --nframe K   tracemalloc on with K frames per traceback (0: off);
 *   --depth D    run the churn D calls below main, so that tracebacks
 *                have frames to unwind.
 *
 *     bench_churn_PEER [objects] [--ops N] [--live N] [--reps N]
 *                      [--min B] [--max B] [--nframe K] [--depth D]
 */
#include "peer.h"

#include "churn.h"

static void *raw_alloc(size_t n) { return peer_alloc(n); }
static void raw_free(void *p) { peer_free(p); }

#ifdef PEER_RC
static const rc_type blob_type = {.name = "blob", .size = CHURN_MIN_SIZE};
static void *object_alloc(size_t n) { return rc_new_sized(peer_heap, &blob_type, n); }
static void object_free(void *p) { rc_decref(p); }
#endif

/* One run: fill, the timed churn, empty. Returns the seconds of the churn. */
CHURN_INLINE double run(const churn_ops *ops, churn_set *s, long nops) {
    churn_fill(ops, s);
    double t0 = bench_now();
    churn_steps(ops, s, nops);
    double t = bench_now() - t0;
    churn_empty(ops, s);
    return t;
}

static double run_chosen(int objects, churn_set *s, long nops) {
#ifdef PEER_RC
    if (objects)
        return run(&(const churn_ops){object_alloc, object_free}, s, nops);
#endif
    (void)objects;
    return run(&(const churn_ops){raw_alloc, raw_free}, s, nops);
}

/* run_chosen, depth calls further down the stack. */
static BENCH_NOINLINE double run_at_depth(int objects, churn_set *s, long nops, int depth) {
    if (depth == 0)
        return run_chosen(objects, s, nops);
    double t = run_at_depth(objects, s, nops, depth - 1);
    __asm__ volatile("" ::: "memory"); /* no tail call: the frame stays */
    return t;
}

int main(int argc, char **argv) {
    int objects = bench_flag(argc, argv, "objects");
    long nops = bench_arg(argc, argv, "--ops", 10000000);
    long reps = bench_arg(argc, argv, "--reps", 1);
    int depth = (int)bench_arg(argc, argv, "--depth", 0);
    int nframe = (int)bench_arg(argc, argv, "--nframe", 0);
    churn_set s = {.live = bench_arg(argc, argv, "--live", 100000),
                   .min_size = (size_t)bench_arg(argc, argv, "--min", CHURN_MIN_SIZE),
                   .max_size = (size_t)bench_arg(argc, argv, "--max", CHURN_MAX_SIZE)};
    if (s.min_size < 8 || s.max_size < s.min_size)
        bench_fail("--min must be at least 8 (a block holds its size) and at most --max");
    const char *workload = objects ? "rc_new/rc_decref churn" : "malloc/free churn";
    peer_init();
    bench_info("version", "%s %s", PEER_NAME, peer_version());
#ifdef PEER_RC
    if (nframe > 0 && rc_tracemalloc_start(peer_heap, nframe) != 0)
        bench_fail("rc_tracemalloc_start failed");
#else
    if (objects || nframe > 0)
        bench_fail("objects and --nframe need the rcgc build");
#endif
    if ((s.slot = peer_roots((size_t)s.live)) == NULL)
        bench_fail("no memory for the live set");
    for (long r = 0; r < reps; r++) {
        double t = run_at_depth(objects, &s, nops, depth);
        bench_info("check", "%llu", (unsigned long long)s.check);
        bench_result(workload, t / (double)nops * 1e9, "ns/pair");
    }
#ifdef PEER_RC
    rc_heap_free(peer_heap);
#endif
    return 0;
}
