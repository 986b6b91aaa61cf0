/*
 * collector.c — the cycle collector on three shapes of `--count` (1M)
 * tracked 2-slot nodes, built identically by bench/py/collector.py and
 * collector_boehm.c from the shared seeded sequence (bench.h):
 *
 *     pairs    count/2 two-node cycles; the holder references the first of each
 *     ring     one cycle through every node; the holder references node 0
 *     random   each node's two slots point at random nodes; the holder
 *              references every node
 *
 * The holder is itself a tracked rc object (Python: a list). `live` times a
 * full collection, rc_gc_collect(h, 2), while the holder is held: it frees
 * nothing. `again` times the next one, after an untimed first (a heap that
 * a collection has ordered, as a long-running program's). `dead` drops the
 * holder first (reference counting frees what it can, untimed) and times
 * the collection that frees the rest. The collector is disabled while
 * building, so only the timed collection runs.
 * Prints ns per node of the shape, and what the collection found.
 *
 * `young` times generation-0 collections of 700 new nodes (a chain held by
 * one reference) with `--old` (10M) old nodes in generation 2, or none.
 *
 *     bench_collector live|again|dead pairs|ring|random [--count N] [--reps N]
 *     bench_collector young [--old N] [--reps N]
 */
#include "bench.h"
#include "rcgc.h"

typedef struct node {
    struct node *a, *b;
} node;

typedef struct holder {
    size_t n;
    node *items[];
} holder;

static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    visit((void **)&n->a, arg);
    visit((void **)&n->b, arg);
}

static void holder_traverse(void *self, rc_visit_fn visit, void *arg) {
    holder *hd = self;
    for (size_t i = 0; i < hd->n; i++)
        visit((void **)&hd->items[i], arg);
}

static const rc_type node_type = {.name = "node", .size = sizeof(node), .traverse = node_traverse};
static const rc_type holder_type = {.name = "holder", .size = sizeof(holder),
                                    .traverse = holder_traverse};

static void *must(void *p) {
    if (p == NULL)
        bench_fail("allocation failed");
    return p;
}

/* A holder able to reference n nodes. */
static holder *new_holder(rc_heap *h, size_t n) {
    holder *hd = must(rc_new_sized(h, &holder_type, sizeof(holder) + n * sizeof(node *)));
    hd->n = n;
    return hd;
}

/* Builds `shape` from count nodes; returns the holder, the only external
 * reference into it. */
static holder *build(rc_heap *h, const char *shape, size_t count) {
    node **nodes = must(malloc(count * sizeof *nodes));
    for (size_t i = 0; i < count; i++)
        nodes[i] = must(rc_new(h, &node_type));
    holder *hd;
    if (strcmp(shape, "pairs") == 0) {
        hd = new_holder(h, count / 2);
        for (size_t i = 0; i + 1 < count; i += 2) {
            nodes[i]->a = rc_incref(nodes[i + 1]);
            nodes[i + 1]->a = rc_incref(nodes[i]);
            hd->items[i / 2] = rc_incref(nodes[i]);
        }
    } else if (strcmp(shape, "ring") == 0) {
        hd = new_holder(h, 1);
        for (size_t i = 0; i < count; i++)
            nodes[i]->a = rc_incref(nodes[(i + 1) % count]);
        hd->items[0] = rc_incref(nodes[0]);
    } else if (strcmp(shape, "random") == 0) {
        bench_rng rng = {7};
        hd = new_holder(h, count);
        for (size_t i = 0; i < count; i++) {
            nodes[i]->a = rc_incref(nodes[bench_below(&rng, (uint32_t)count)]);
            nodes[i]->b = rc_incref(nodes[bench_below(&rng, (uint32_t)count)]);
            hd->items[i] = rc_incref(nodes[i]);
        }
    } else {
        bench_fail("shape must be pairs, ring or random");
    }
    for (size_t i = 0; i < count; i++)
        rc_decref(nodes[i]);
    free(nodes);
    return hd;
}

static void shapes(const char *state, const char *shape, long count, long reps) {
    rc_heap *h = must(rc_heap_new());
    rc_gc_disable(h);
    bool again = strcmp(state, "again") == 0, dead = strcmp(state, "dead") == 0;
    char workload[64];
    if (again)
        snprintf(workload, sizeof workload, "live heap collected again, %s", shape);
    else
        snprintf(workload, sizeof workload, "%s heap, %s", state, shape);
    for (long r = 0; r < reps; r++) {
        holder *hd = build(h, shape, (size_t)count);
        if (dead)
            rc_decref(hd);
        else if (again && rc_gc_collect(h, 2) != 0)
            bench_fail("the first collection found garbage");
        double t0 = bench_now();
        long found = rc_gc_collect(h, 2);
        double t = bench_now() - t0;
        if (!dead)
            rc_decref(hd);
        bench_info("found", "%ld", found);
        bench_result(workload, t / (double)count * 1e9, "ns/object");
        rc_gc_collect(h, 2); /* what a live run left behind */
    }
    rc_heap_free(h);
}

/* A chain of n new nodes, held by the returned head. */
static node *chain(rc_heap *h, long n) {
    node *head = NULL;
    for (long i = 0; i < n; i++) {
        node *x = must(rc_new(h, &node_type));
        x->a = head;
        head = x;
    }
    return head;
}

static void young(long old, long reps) {
    rc_heap *h = must(rc_heap_new());
    rc_gc_disable(h);
    node *old_chain = chain(h, old);
    rc_gc_collect(h, 2); /* the old nodes now sit in generation 2 */
    bench_info("old", "%ld", old);
    char workload[64];
    snprintf(workload, sizeof workload, "gen-0 pause, 700 young, %ldM old", old / 1000000);
    for (long r = 0; r < reps; r++) {
        node *young_chain = chain(h, 700);
        double t0 = bench_now();
        rc_gc_collect(h, 0);
        double t = bench_now() - t0;
        rc_decref(young_chain);
        bench_result(workload, t * 1e6, "us");
    }
    rc_decref(old_chain);
    rc_heap_free(h);
}

int main(int argc, char **argv) {
    long reps = bench_arg(argc, argv, "--reps", 1);
    if (argc > 1 && strcmp(argv[1], "young") == 0) {
        young(bench_arg(argc, argv, "--old", 10000000), reps);
        return 0;
    }
    if (argc < 3 || (strcmp(argv[1], "live") != 0 && strcmp(argv[1], "again") != 0 &&
                     strcmp(argv[1], "dead") != 0))
        bench_fail("usage: bench_collector live|again|dead pairs|ring|random [--count N] [--reps N]\n"
                   "       bench_collector young [--old N] [--reps N]");
    shapes(argv[1], argv[2], bench_arg(argc, argv, "--count", 1000000), reps);
    return 0;
}
