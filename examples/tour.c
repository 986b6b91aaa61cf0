/*
 * tour.c — Python's memory management, in C, with rcgc.
 *
 * The C counterpart of the usual Python walkthrough: reference counts that
 * rise and fall, objects that die the moment the last reference goes, small
 * untracked objects (the __slots__ habit), references dropped at scope exit
 * (as a function's locals are), cycles only the collector can free,
 * finalizers, weak references, tracemalloc. `make demo` builds and runs it.
 */
#include <rcgc.h>

#include <stdio.h>
#include <string.h>

/* A node with a name and one reference: Python's `class Node` with
 * `self.ref`, and a finalizer that says when it goes (`__del__`). */
typedef struct node {
    char name[16];
    struct node *ref;
} node;

static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    RC_VISIT(((node *)self)->ref);
}

static void node_finalize(void *self) { printf("    Deleting %s\n", ((node *)self)->name); }

static const rc_type node_type = {
    .name = "node", .size = sizeof(node), .traverse = node_traverse,
    .finalize = node_finalize,
};

/* A point holds no references: no traverse, so it is not tracked and its
 * header is 8 bytes (the __slots__-like case). */
typedef struct point {
    double x, y;
} point;
static const rc_type point_type = {.name = "point", .size = sizeof(point)};

/* A list-like box that can hold itself, to show a self-reference. */
typedef struct box {
    struct box *item;
} box;
static void box_traverse(void *self, rc_visit_fn visit, void *arg) {
    RC_VISIT(((box *)self)->item);
}
static const rc_type box_type = {.name = "box", .size = sizeof(box), .traverse = box_traverse};

static node *make_node(rc_heap *h, const char *name) {
    node *n = rc_new(h, &node_type);
    if (n)
        snprintf(n->name, sizeof n->name, "%s", name);
    return n;
}

static void reference_counts(rc_heap *h) {
    printf("1. Reference counting\n");
    node *a = make_node(h, "a");
    printf("    a = Node()          refcount(a) = %zu\n", rc_refcount(a));
    node *b = rc_incref(a);
    printf("    b = a               refcount(a) = %zu\n", rc_refcount(a));
    rc_decref(b);
    printf("    del b               refcount(a) = %zu\n", rc_refcount(a));
    printf("    del a               (the count reaches zero: it dies at once)\n");
    rc_decref(a);
}

static void small_objects(rc_heap *h) {
    printf("\n2. Small objects: tracked or not\n");
    point *p = rc_new(h, &point_type);
    node *n = make_node(h, "n");
    printf("    point (no references, untracked): %2zu bytes for %zu of data, tracked=%d\n",
           rc_sizeof(p), sizeof(point), rc_gc_is_tracked(p));
    printf("    node  (holds a reference, tracked): %zu bytes for %zu of data, tracked=%d\n",
           rc_sizeof(n), sizeof(node), rc_gc_is_tracked(n));
    rc_decref(p);
    rc_decref(n);
}

static void scoped(rc_heap *h) {
    printf("\n3. Scope-bound references (like a function's locals)\n");
    {
        rc_auto node *tmp = make_node(h, "tmp");
        printf("    inside the scope: refcount(tmp) = %zu\n", rc_refcount(tmp));
    }
    printf("    after the scope\n");
}

static void cycles(rc_heap *h) {
    printf("\n4. Cycles and the garbage collector\n");
    rc_gc_disable(h); /* only explicit collections below, as in the notebook */
    box *x = rc_new(h, &box_type);
    x->item = rc_incref(x); /* x.append(x) */
    printf("    x.append(x)         refcount(x) = %zu\n", rc_refcount(x));
    rc_decref(x); /* del x: the self-reference keeps it alive */
    printf("    del x; gc.collect() -> %ld unreachable object(s) found\n", rc_gc_collect(h, 2));

    rc_gc_stats st[RC_GC_GENERATIONS];
    rc_gc_get_stats(h, st);
    printf("    gc.get_stats():");
    for (int g = 0; g < RC_GC_GENERATIONS; g++)
        printf(" {collections: %zu, collected: %zu, uncollectable: %zu}", st[g].collections,
               st[g].collected, st[g].uncollectable);
    printf("\n    gc.garbage: %zu object(s)\n", rc_gc_garbage_count(h));

    node *a = make_node(h, "A"), *b = make_node(h, "B");
    a->ref = rc_incref(b);
    b->ref = rc_incref(a);
    rc_weakref *wa = rc_weakref_new(a, NULL, NULL);
    rc_decref(a);
    rc_decref(b);
    printf("    a.ref = b; b.ref = a; del a, b\n    Collecting garbage...\n");
    long found = rc_gc_collect(h, 2);
    printf("    gc.collect() -> %ld\n", found);
    void *target = rc_weakref_get(wa);
    printf("    the weak reference to A now gives %s\n", target ? "an object" : "NULL (None)");
    rc_decref(target);
    rc_decref(wa);
    rc_gc_enable(h);
}

static void tracing(rc_heap *h) {
    printf("\n5. Where the memory goes: tracemalloc\n");
    if (rc_tracemalloc_start(h, 8) != 0) {
        perror("    rc_tracemalloc_start");
        return;
    }
    enum { N = 100000 };
    point **data = rc_malloc(h, N * sizeof *data);
    for (int i = 0; data && i < N; i++)
        data[i] = rc_new(h, &point_type);
    size_t current, peak;
    rc_tracemalloc_get_traced_memory(h, &current, &peak);
    printf("    Current: %.2f KB; Peak: %.2f KB\n", current / 1024.0, peak / 1024.0);

    rc_snapshot *snap = rc_tracemalloc_take_snapshot(h);
    if (snap) {
        rc_snapshot_print_top(stdout, snap, RC_KEY_LINENO, 10);
        rc_snapshot_free(snap);
    }
    for (int i = 0; data && i < N; i++)
        rc_decref(data[i]);
    rc_free(h, data);
    rc_tracemalloc_stop(h);
}

int main(void) {
    rc_heap *h = rc_heap_new();
    if (h == NULL) {
        perror("rc_heap_new");
        return 1;
    }
    reference_counts(h);
    small_objects(h);
    scoped(h);
    cycles(h);
    tracing(h);
    size_t leaks = rc_heap_free(h);
    printf("\nrc_heap_free: %zu object(s) leaked\n", leaks);
    return leaks == 0 ? 0 : 1;
}
