/*
 * binary_trees.c — the Benchmarks Game's binary-trees: a stretch tree of
 * depth max+1, a long-lived tree of depth max, then for depth 4, 6, .. max
 * 2^(max - depth + 4) short-lived trees, each built, checked (its node
 * count) and dropped. The whole run is timed; the check sum of every check
 * is printed so the driver can see that all peers did the same work.
 *
 * With rcgc the nodes are tracked rc objects (the type has traverse) and a
 * tree dies by rc_decref of its root: the library drops the children. The
 * collector is disabled (`gc-off`) or left on with its default thresholds
 * (`gc-on`: automatic generation-0 collections every 700 new nodes, older
 * generations as CPython schedules them); the collections' count and time
 * per generation (over all repetitions) are printed. Boehm GC nodes come from
 * GC_MALLOC and are never freed; every other peer frees by hand, post-order.
 *
 * Nodes are made parents first, or children first with `bottom-up` (make).
 *
 *     bench_trees_PEER --depth N [--reps N] [gc-on|gc-off] [bottom-up]
 */
#include "peer.h"

#include "bench.h"

#include <stdbool.h>

#define MIN_DEPTH 4

typedef struct node {
    struct node *left, *right;
} node;

#ifdef PEER_RC
static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    visit((void **)&n->left, arg);
    visit((void **)&n->right, arg);
}
static const rc_type node_type = {.name = "node", .size = sizeof(node), .traverse = node_traverse};

static node *new_node(void) {
    node *n = rc_new(peer_heap, &node_type);
    if (n == NULL)
        bench_fail("rc_new failed");
    return n;
}

static void drop(node *n) { rc_decref(n); }

/* Seconds spent in collections of each generation, through the callbacks. */
static double gc_started, gc_seconds[RC_GC_GENERATIONS];

static void time_collections(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h;
    (void)arg;
    if (strcmp(phase, "start") == 0)
        gc_started = bench_now();
    else
        gc_seconds[info->generation] += bench_now() - gc_started;
}
#else
static node *new_node(void) {
    node *n = peer_alloc(sizeof *n);
    if (n == NULL)
        bench_fail("allocation failed");
    n->left = n->right = NULL;
    return n;
}

#ifdef PEER_BOEHM
static void drop(node *n) { (void)n; /* the collector finds it */ }
#else
static void drop(node *n) {
    if (n->left) {
        drop(n->left);
        drop(n->right);
    }
    peer_free(n);
}
#endif
#endif

/* The order nodes are made in: each before its children (parents first),
 * or after them (`bottom-up`: the Benchmarks Game's programs and
 * bench/py/binary_trees.py). For malloc it changes little; for rcgc's
 * collector, which keeps CPython's order of objects, a lot (see
 * bench/RESULTS.md). */
static bool bottom_up;

static node *make(int depth) {
    if (bottom_up) {
        node *left = depth > 0 ? make(depth - 1) : NULL;
        node *right = depth > 0 ? make(depth - 1) : NULL;
        node *n = new_node();
        n->left = left;
        n->right = right;
        return n;
    }
    node *n = new_node();
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    }
    return n;
}

static long check(const node *n) { return n->left ? 1 + check(n->left) + check(n->right) : 1; }

/* The whole benchmark at max_depth; returns the sum of every check. */
static long binary_trees(int max_depth) {
    long sum = 0;
    node *stretch = make(max_depth + 1);
    sum += check(stretch);
    drop(stretch);
    node *long_lived = make(max_depth);
    for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + MIN_DEPTH);
        for (long i = 0; i < iterations; i++) {
            node *t = make(d);
            sum += check(t);
            drop(t);
        }
    }
    sum += check(long_lived);
    drop(long_lived);
    return sum;
}

int main(int argc, char **argv) {
    int depth = (int)bench_arg(argc, argv, "--depth", 16);
    long reps = bench_arg(argc, argv, "--reps", 1);
    if (depth < MIN_DEPTH + 2)
        depth = MIN_DEPTH + 2;
    bottom_up = bench_flag(argc, argv, "bottom-up");
    peer_init();
    bench_info("version", "%s %s", PEER_NAME, peer_version());
    bench_info("order", "%s", bottom_up ? "bottom-up" : "parents first");
#ifdef PEER_RC
    if (bench_flag(argc, argv, "gc-off"))
        rc_gc_disable(peer_heap);
    bench_info("collector", "%s", rc_gc_isenabled(peer_heap) ? "enabled" : "disabled");
    if (rc_gc_callback_add(peer_heap, time_collections, NULL) != 0)
        bench_fail("rc_gc_callback_add failed");
#endif
    char workload[64];
    snprintf(workload, sizeof workload, "binary-trees depth %d", depth);
    for (long r = 0; r < reps; r++) {
        double t0 = bench_now();
        long sum = binary_trees(depth);
        double t = bench_now() - t0;
        bench_info("check", "%ld", sum);
        bench_result(workload, t, "s");
    }
#ifdef PEER_RC
    rc_gc_stats st[RC_GC_GENERATIONS];
    rc_gc_get_stats(peer_heap, st);
    bench_info("collections", "gen0 %zu (%.3f s), gen1 %zu (%.3f s), gen2 %zu (%.3f s)",
               st[0].collections, gc_seconds[0], st[1].collections, gc_seconds[1],
               st[2].collections, gc_seconds[2]);
    rc_heap_free(peer_heap);
#endif
    return 0;
}
