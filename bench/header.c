/*
 * header.c — what an object costs: the growth of the resident set over
 * `--count` (1M) live 2-pointer nodes, divided by their number. The array
 * holding them is allocated and touched before the first reading, so only
 * the objects (with their headers, rounding and pool bookkeeping) count.
 *
 *     bench_header rc-tracked     rc objects whose type has traverse
 *     bench_header rc-untracked   rc objects whose type has none
 *     bench_header malloc         glibc malloc(16)
 *
 * Also prints how many objects were not 16-byte aligned and, for rc, the
 * node's rc_sizeof, the header proper (the smallest rc_sizeof(obj) - size
 * over sizes 1..496: the bytes left when the payload exactly fills its
 * size class) and the heap's bytes_reserved per node.
 */
#include "bench.h"
#include "rcgc.h"

#include <stdint.h>

typedef struct pair_node {
    struct pair_node *first, *second;
} pair_node;

static void pair_traverse(void *self, rc_visit_fn visit, void *arg) {
    pair_node *n = self;
    visit((void **)&n->first, arg);
    visit((void **)&n->second, arg);
}

static const rc_type tracked_type = {.name = "node", .size = sizeof(pair_node),
                                     .traverse = pair_traverse};
static const rc_type untracked_type = {.name = "pair", .size = sizeof(pair_node)};

/* The bytes of header an object of type t carries, measured with rc_sizeof. */
static size_t header_bytes(rc_heap *h, const rc_type *t) {
    size_t best = SIZE_MAX;
    for (size_t size = 1; size <= 496; size++) {
        void *o = rc_new_sized(h, t, size);
        if (o == NULL)
            bench_fail("rc_new_sized failed");
        if (rc_sizeof(o) - size < best)
            best = rc_sizeof(o) - size;
        rc_decref(o);
    }
    return best;
}

int main(int argc, char **argv) {
    long count = bench_arg(argc, argv, "--count", 1000000);
    const char *what = argc > 1 ? argv[1] : "";
    const rc_type *type = strcmp(what, "rc-tracked") == 0     ? &tracked_type
                          : strcmp(what, "rc-untracked") == 0 ? &untracked_type
                                                              : NULL;
    if (type == NULL && strcmp(what, "malloc") != 0)
        bench_fail("usage: bench_header rc-tracked|rc-untracked|malloc [--count N]");

    void **objs = malloc((size_t)count * sizeof *objs);
    if (objs == NULL)
        bench_fail("no memory");
    memset(objs, 0xff, (size_t)count * sizeof *objs); /* resident now (0 could become calloc) */
    rc_heap *h = type ? rc_heap_new() : NULL;
    if (type && h == NULL)
        bench_fail("rc_heap_new failed");

    long misaligned = 0;
    long before = bench_rss();
    for (long i = 0; i < count; i++) {
        objs[i] = type ? rc_new(h, type) : malloc(sizeof(pair_node));
        if (objs[i] == NULL)
            bench_fail("allocation failed");
        misaligned += ((uintptr_t)objs[i] & 15) != 0;
    }
    long after = bench_rss();
    bench_result("bytes per 2-pointer node (RSS / 1M)", (double)(after - before) / (double)count,
                 "B");

    bench_result("objects not 16-byte aligned", (double)misaligned, "objects");
    if (type) {
        rc_heap_stats st;
        rc_heap_get_stats(h, &st);
        bench_result("rc_sizeof(node)", (double)rc_sizeof(objs[0]), "B");
        bench_result("header (rc_sizeof - size, best fit)", (double)header_bytes(h, type), "B");
        bench_result("bytes_reserved per node", (double)st.bytes_reserved / (double)count, "B");
        for (long i = 0; i < count; i++)
            rc_decref(objs[i]);
        rc_heap_free(h);
    } else {
        for (long i = 0; i < count; i++)
            free(objs[i]);
    }
    free(objs);
    return 0;
}
