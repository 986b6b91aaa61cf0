/*
 * churn.c — allocation churn: `--ops` times (10M), free a random one of
 * `--live` blocks (100k) and allocate a block of a random size 16..256 B in
 * its place. Every peer replays the same seeded sequence; each block is
 * written when allocated and read before it is freed, as a program would
 * (and so no compiler can drop a malloc/free pair). Only the steady-state
 * churn is timed: filling the live set and emptying it are not.
 *
 * Built once per allocator (peer.h). The rcgc builds also take:
 *   objects      the same churn with untracked objects (rc_new_sized +
 *                rc_decref) instead of rc_malloc/rc_free;
 *   --nframe K   tracemalloc on with K frames per traceback (0: off);
 *   --depth D    run the churn D calls below main, so that tracebacks
 *                have frames to unwind.
 * bench_churn_rc_notrace is the rcgc build linked against the library with
 * its tracer checks removed (see CMakeLists.txt).
 *
 *     bench_churn_PEER [objects] [--ops N] [--live N] [--reps N]
 *                      [--nframe K] [--depth D]
 */
#include "peer.h"

#include "bench.h"

#include <stdint.h>

#define MIN_SIZE 16
#define MAX_SIZE 256
#define SEED 42

typedef struct churn_ops {
    void *(*alloc)(size_t n);
    void (*free)(void *p);
} churn_ops;

static void *raw_alloc(size_t n) { return peer_alloc(n); }
static void raw_free(void *p) { peer_free(p); }

#ifdef PEER_RC
static const rc_type blob_type = {.name = "blob", .size = MIN_SIZE};
static void *object_alloc(size_t n) { return rc_new_sized(peer_heap, &blob_type, n); }
static void object_free(void *p) { rc_decref(p); }
#endif

static inline size_t next_size(bench_rng *rng) {
    return MIN_SIZE + bench_below(rng, MAX_SIZE - MIN_SIZE + 1);
}

/* A block of n bytes with n stored in its first word; exits on failure. */
static inline __attribute__((always_inline)) void *fresh(const churn_ops *ops, size_t n) {
    uint64_t *p = ops->alloc(n);
    if (p == NULL)
        bench_fail("allocation failed");
    p[0] = n;
    return p;
}

/* One timed run; returns seconds for the churn and adds the sizes read
 * back from the freed blocks to *check. Always inlined with a constant ops,
 * so the allocator is called directly, not through a pointer. */
static inline __attribute__((always_inline)) double run(const churn_ops *ops, void **slot,
                                                        long live, long nops, uint64_t *check) {
    bench_rng rng = {SEED};
    for (long i = 0; i < live; i++)
        slot[i] = fresh(ops, next_size(&rng));
    double t0 = bench_now();
    for (long k = 0; k < nops; k++) {
        uint32_t j = bench_below(&rng, (uint32_t)live);
        size_t n = next_size(&rng);
        *check += *(uint64_t *)slot[j];
        ops->free(slot[j]);
        slot[j] = fresh(ops, n);
    }
    double t = bench_now() - t0;
    for (long i = 0; i < live; i++) {
        *check += *(uint64_t *)slot[i];
        ops->free(slot[i]);
        slot[i] = NULL;
    }
    return t;
}

typedef struct churn_args {
    int objects;
    void **slot;
    long live, nops;
    uint64_t check;
} churn_args;

static double run_chosen(churn_args *a) {
#ifdef PEER_RC
    if (a->objects)
        return run(&(const churn_ops){object_alloc, object_free}, a->slot, a->live, a->nops,
                   &a->check);
#endif
    return run(&(const churn_ops){raw_alloc, raw_free}, a->slot, a->live, a->nops, &a->check);
}

/* run_chosen, depth calls further down the stack. */
static BENCH_NOINLINE double run_at_depth(churn_args *a, int depth) {
    if (depth == 0)
        return run_chosen(a);
    double t = run_at_depth(a, depth - 1);
    __asm__ volatile("" ::: "memory"); /* no tail call: the frame stays */
    return t;
}

int main(int argc, char **argv) {
    churn_args a = {.objects = bench_flag(argc, argv, "objects"),
                    .live = bench_arg(argc, argv, "--live", 100000),
                    .nops = bench_arg(argc, argv, "--ops", 10000000)};
    long reps = bench_arg(argc, argv, "--reps", 1);
    int depth = (int)bench_arg(argc, argv, "--depth", 0);
    int nframe = (int)bench_arg(argc, argv, "--nframe", 0);
    const char *workload = a.objects ? "rc_new/rc_decref churn" : "malloc/free churn";
    peer_init();
    bench_info("version", "%s %s", PEER_NAME, peer_version());
#ifdef PEER_RC
    if (nframe > 0 && rc_tracemalloc_start(peer_heap, nframe) != 0)
        bench_fail("rc_tracemalloc_start failed");
#else
    if (a.objects || nframe > 0)
        bench_fail("objects and --nframe need the rcgc build");
#endif
    if ((a.slot = peer_roots((size_t)a.live)) == NULL)
        bench_fail("no memory for the live set");
    for (long r = 0; r < reps; r++) {
        a.check = 0;
        double t = run_at_depth(&a, depth);
        bench_info("check", "%llu", (unsigned long long)a.check);
        bench_result(workload, t / (double)a.nops * 1e9, "ns/pair");
    }
#ifdef PEER_RC
    rc_heap_free(peer_heap);
#endif
    return 0;
}
