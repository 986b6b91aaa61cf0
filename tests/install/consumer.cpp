// consumer.cpp — the installed <rcgc.h> used from C++ (the contract: C11,
// usable from C++ through extern "C"), with the reference macros a C++
// user reaches for. Built with -Wall -Wextra -pedantic -Wold-style-cast
// -Wcast-qual -Werror by run.sh (the macros use C++ casts there).
#include <rcgc.h>

#include <cstdio>

struct pair {
    pair *next;
    int value;
};

// RC_VISIT, Py_VISIT's counterpart, casts as C++ wants (-Wold-style-cast).
static void pair_traverse(void *self, rc_visit_fn visit, void *arg) {
    RC_VISIT(static_cast<pair *>(self)->next);
}

static const rc_type pair_type = {"pair", sizeof(pair), pair_traverse, nullptr, nullptr, nullptr};

static pair *new_pair(rc_heap *h, int value) {
    pair *p = static_cast<pair *>(rc_new(h, &pair_type));
    if (p != nullptr)
        p->value = value;
    return p;
}

// A new pair handed out of an rc_auto scope with RC_STEAL.
static pair *made_in_scope(rc_heap *h) {
    rc_auto pair *p = new_pair(h, 7);
    return RC_STEAL(p);
}

// An allocation in a default member initialiser, outside any function,
// where C++ leaves __func__ undefined (g++ warned, so -Werror failed).
static rc_heap *scratch_heap;
static const unsigned holder_line = __LINE__ + 2;
struct holder {
    void *block = rc_malloc(scratch_heap, 32);
};

int main() {
    rc_heap *h = rc_heap_new();
    if (h == nullptr)
        return 1;
    scratch_heap = h;
    rc_tracemalloc_start(h, 1);
    holder held;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, held.block);
    bool traced = tb != nullptr && tb->frames[0].lineno == holder_line; // the initialiser's
    rc_free(h, held.block);
    rc_tracemalloc_stop(h);
    pair *a = new_pair(h, 1), *b = new_pair(h, 2);
    a->next = static_cast<pair *>(rc_incref(b));
    b->next = static_cast<pair *>(rc_incref(a)); // a two-object cycle
    RC_CLEAR(b);
    size_t a_count = rc_refcount(a);              // 2: the local and b->next
    pair *c = made_in_scope(h);
    size_t c_count = rc_refcount(c);              // 1: the scope's reference, stolen
    RC_SET(c, new_pair(h, 3));                    // the old c dies here
    int c_value = c->value;
    RC_CLEAR(c);
    const pair *k = new_pair(h, 4);               // a reference held through a const pointer
    RC_CLEAR(k);
    RC_CLEAR(a);
    long found = rc_gc_collect(h, 2);             // the cycle
    size_t leaks = rc_heap_free(h);
    std::printf("C++: counts %zu %zu, value %d, found %ld, leaks %zu, traced %d\n", a_count,
                c_count, c_value, found, leaks, traced);
    return a_count == 2 && c_count == 1 && c_value == 3 && found == 2 && leaks == 0 && traced
               ? 0
               : 1;
}
