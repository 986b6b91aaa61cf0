/*
 * ir.c — a small compiler IR on rcgc.
 *
 * A function is a control-flow graph of basic blocks. Blocks hold their
 * predecessors and successors strongly (so every loop is a reference cycle)
 * and their function (a back pointer, another cycle). Instructions hold their
 * operands strongly and keep use lists of weak references to their users.
 * Integer constants are interned in a weak-valued table: an entry goes away
 * by itself when the last instruction using the constant dies.
 *
 * Passes rewrite the graph and drop parts of it, and each death is printed
 * by a finalizer when it happens:
 *
 *   - constant folding replaces an instruction by a constant, and the
 *     instruction dies at once, by reference counting alone;
 *   - dropping unreachable blocks kills nothing until the collector runs
 *     (shown with the collector's debug lines);
 *   - dead code elimination leaves a cycle of phis that only a full
 *     collection reaches, once it is in the oldest generation;
 *   - tracemalloc shows, by line of this file, what specializing a function
 *     allocated (two snapshots and their difference, one of them written to
 *     a file and read back), and what lowering allocated by pass (a frame
 *     provider), machine code outside the heap included (a domain of its
 *     own);
 *   - a dropped function is kept on the garbage list to be looked at;
 *   - a forgotten reference shows up in rc_heap_free's count of leaks.
 */
#include <rcgc.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Out of memory ends the compiler: say so and stop. */
static void *must(void *p) {
    if (p == NULL) {
        perror("ir");
        exit(1);
    }
    return p;
}

/* What the program expects of the library, checked as it goes. */
static void check(bool ok, const char *what) {
    if (!ok) {
        printf("CHECK FAILED: %s\n", what);
        exit(1);
    }
}

/* ----------------------------------------------------------------- vectors */

/* A growable array of strong references, in rc_malloc memory. */
typedef struct vec { size_t n, cap; void **v; } vec;

/* Appends p (a new reference, stolen). */
static void vec_push(rc_heap *h, vec *a, void *p) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 4;
        a->v = must(rc_realloc(h, a->v, cap * sizeof *a->v));
        a->cap = cap;
    }
    a->v[a->n++] = p;
}

/* Removes element i, keeping the order, and returns its reference. */
static void *vec_take(vec *a, size_t i) {
    void *p = a->v[i];
    memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof *a->v);
    a->n--;
    return p;
}

/* A traverse's part for a vector: each element's own slot. */
static void vec_visit(vec *a, rc_visit_fn visit, void *arg) {
    for (size_t i = 0; i < a->n; i++)
        RC_VISIT(a->v[i]);
}

/* --------------------------------------------------------------- constants */

typedef struct iconst { long value; } iconst;

static void iconst_finalize(void *self) { printf("    [die] const %ld\n", ((iconst *)self)->value); }

/* Constants refer to nothing: no traverse, so they are never tracked. */
static const rc_type iconst_type = {.name = "iconst", .size = sizeof(iconst),
                                    .finalize = iconst_finalize};

/* The interning table: value -> weak reference to the constant. */
typedef struct centry { long value; rc_weakref *ref; struct centry *next; } centry;
typedef struct ctable { rc_heap *h; centry *head; size_t n; } ctable;

/* A constant died: its entry leaves the table. Only the entry whose weak
 * reference this is (the guide's `slot == ref` rule). */
static void ctable_forget(rc_weakref *ref, void *arg) {
    ctable *t = arg;
    for (centry **p = &t->head; *p; p = &(*p)->next) {
        if ((*p)->ref == ref) {
            centry *e = *p;
            printf("    [table] forgets %ld\n", e->value);
            *p = e->next;
            RC_CLEAR(e->ref);
            rc_free(t->h, e);
            t->n--;
            return;
        }
    }
}

/* A new reference to the constant `value`, made once. */
static iconst *iconst_get(ctable *t, long value) {
    /* An entry whose constant is dead and whose callback has not run yet
     * (a collection clears all weak references first) is skipped. */
    for (centry *e = t->head; e; e = e->next) {
        if (e->value == value) {
            iconst *c = rc_weakref_get(e->ref);
            if (c)
                return c;
        }
    }
    iconst *c = must(rc_new(t->h, &iconst_type));
    c->value = value;
    centry *e = must(rc_malloc(t->h, sizeof *e));
    e->value = value;
    e->ref = must(rc_weakref_new(c, ctable_forget, t));
    e->next = t->head;
    t->head = e;
    t->n++;
    return c;
}

/* Drops every entry's weak reference: no callback runs after this. */
static void ctable_clear(ctable *t) {
    while (t->head) {
        centry *e = t->head;
        t->head = e->next;
        rc_decref(e->ref);
        rc_free(t->h, e);
    }
    t->n = 0;
}

/* ------------------------------------------------------------ instructions */

typedef enum { OP_PARAM, OP_ADD, OP_MUL, OP_LT, OP_PHI, OP_BR, OP_CBR, OP_RET } opcode;
static const char *const opname[] = {"param", "add", "mul", "lt", "phi", "br", "cbr", "ret"};

typedef struct instr {
    int id;
    opcode op;
    vec ops;   /* operands: instrs or iconsts, strong; a phi's follow its block's preds */
    vec users; /* weak references to the instructions using this one */
} instr;

static int next_id;
static long live_instrs, live_blocks;

/* An instruction's references are its operands and its use list's weak
 * reference objects; its death is printed; release frees the vectors. */
static void instr_traverse(void *self, rc_visit_fn visit, void *arg) {
    instr *i = self;
    vec_visit(&i->ops, visit, arg);
    vec_visit(&i->users, visit, arg);
}
static void instr_finalize(void *self) {
    instr *i = self;
    printf("    [die] %%%d = %s\n", i->id, opname[i->op]);
}
static void instr_release(void *self) {
    instr *i = self;
    rc_free(rc_heap_of(i), i->ops.v);
    rc_free(rc_heap_of(i), i->users.v);
    live_instrs--;
}
static const rc_type instr_type = {.name = "instr", .size = sizeof(instr),
                                   .traverse = instr_traverse, .finalize = instr_finalize,
                                   .release = instr_release};

static bool is_instr(const void *v) { return rc_type_of(v) == &instr_type; }

/* Records that `user` uses `def` (a no-op for constants). */
static void add_use(rc_heap *h, void *def, instr *user) {
    if (is_instr(def))
        vec_push(h, &((instr *)def)->users, must(rc_weakref_new(user, NULL, NULL)));
}

/* Appends operand v (borrowed) to i. */
static void add_operand(rc_heap *h, instr *i, void *v) {
    vec_push(h, &i->ops, rc_incref(v));
    add_use(h, v, i);
}

/* A new reference to an instruction with up to two operands (borrowed). */
static instr *instr_new(rc_heap *h, opcode op, void *a, void *b) {
    instr *i = must(rc_new(h, &instr_type));
    i->id = next_id++;
    i->op = op;
    live_instrs++;
    if (a)
        add_operand(h, i, a);
    if (b)
        add_operand(h, i, b);
    return i;
}

/* Replaces every use of old by new (borrowed): LLVM's RAUW. */
static void replace_all_uses(rc_heap *h, instr *old, void *new) {
    for (size_t k = 0; k < old->users.n; k++) {
        instr *u = rc_weakref_get(old->users.v[k]);
        if (u == NULL)
            continue;
        for (size_t j = 0; j < u->ops.n; j++)
            if (u->ops.v[j] == old) {
                RC_SET(u->ops.v[j], rc_incref(new));
                add_use(h, new, u);
            }
        rc_decref(u);
    }
    while (old->users.n)
        rc_decref(vec_take(&old->users, old->users.n - 1));
}

/* Live users of i (the use list's weak references still alive). */
static size_t count_users(instr *i) {
    size_t n = 0;
    for (size_t k = 0; k < i->users.n; k++) {
        void *u = rc_weakref_get(i->users.v[k]);
        n += u != NULL;
        rc_decref(u);
    }
    return n;
}

/* ------------------------------------------------------------------ blocks */

typedef struct function function;

typedef struct block {
    char name[16];
    function *fn; /* strong back pointer */
    vec instrs, preds, succs;
} block;

struct function {
    char name[16];
    vec blocks;
};

/* A block refers to its function, instructions, predecessors and
 * successors; a function to its blocks. */
static void block_traverse(void *self, rc_visit_fn visit, void *arg) {
    block *b = self;
    RC_VISIT(b->fn);
    vec_visit(&b->instrs, visit, arg);
    vec_visit(&b->preds, visit, arg);
    vec_visit(&b->succs, visit, arg);
}
static void block_finalize(void *self) { printf("    [die] block %s\n", ((block *)self)->name); }
static void block_release(void *self) {
    block *b = self;
    rc_heap *h = rc_heap_of(b);
    rc_free(h, b->instrs.v);
    rc_free(h, b->preds.v);
    rc_free(h, b->succs.v);
    live_blocks--;
}
static const rc_type block_type = {.name = "block", .size = sizeof(block),
                                   .traverse = block_traverse, .finalize = block_finalize,
                                   .release = block_release};

static void function_traverse(void *self, rc_visit_fn visit, void *arg) {
    vec_visit(&((function *)self)->blocks, visit, arg);
}
static void function_finalize(void *self) {
    printf("    [die] function %s\n", ((function *)self)->name);
}
static void function_release(void *self) {
    function *f = self;
    rc_free(rc_heap_of(f), f->blocks.v);
}
static const rc_type function_type = {.name = "function", .size = sizeof(function),
                                      .traverse = function_traverse,
                                      .finalize = function_finalize,
                                      .release = function_release};

/* A new block appended to f (the function keeps it; borrowed result). */
static block *block_new(rc_heap *h, function *f, const char *name) {
    block *b = must(rc_new(h, &block_type));
    snprintf(b->name, sizeof b->name, "%s", name);
    b->fn = rc_incref(f);
    vec_push(h, &f->blocks, b);
    live_blocks++;
    return b;
}

/* Appends i (a new reference, stolen) to b; returns it borrowed. */
static instr *emit(rc_heap *h, block *b, instr *i) {
    vec_push(h, &b->instrs, i);
    return i;
}

/* A control-flow edge: each end holds the other. */
static void add_edge(rc_heap *h, block *from, block *to) {
    vec_push(h, &from->succs, rc_incref(to));
    vec_push(h, &to->preds, rc_incref(from));
}

/* Prints f, one instruction a line. */
static void print_function(function *f) {
    printf("  function %s:\n", f->name);
    for (size_t k = 0; k < f->blocks.n; k++) {
        block *b = f->blocks.v[k];
        printf("   %s:\n", b->name);
        for (size_t j = 0; j < b->instrs.n; j++) {
            instr *i = b->instrs.v[j];
            printf("      %%%d = %s", i->id, opname[i->op]);
            for (size_t o = 0; o < i->ops.n; o++) {
                void *v = i->ops.v[o];
                if (is_instr(v))
                    printf(" %%%d", ((instr *)v)->id);
                else
                    printf(" %ld", ((iconst *)v)->value);
            }
            printf("\n");
        }
    }
}

/* ------------------------------------------------------------------- build */

/* sum(n): i = 0, acc = 2 + 3; while (i < n) { acc += i; i += 1; j *= 2 }
 * return acc; plus two unreachable blocks looping into each other and a
 * dead induction variable j. */
static function *build_sum(rc_heap *h, ctable *ct) {
    function *f = must(rc_new(h, &function_type));
    snprintf(f->name, sizeof f->name, "sum");
    block *entry = block_new(h, f, "entry"), *head = block_new(h, f, "head"),
          *body = block_new(h, f, "body"), *exit_ = block_new(h, f, "exit"),
          *dead1 = block_new(h, f, "dead1"), *dead2 = block_new(h, f, "dead2");
    add_edge(h, entry, head);
    add_edge(h, head, body);
    add_edge(h, head, exit_);
    add_edge(h, body, head);
    add_edge(h, dead1, dead2);
    add_edge(h, dead2, dead1);

    rc_auto iconst *c0 = iconst_get(ct, 0), *c1 = iconst_get(ct, 1), *c2 = iconst_get(ct, 2),
                   *c3 = iconst_get(ct, 3), *c6 = iconst_get(ct, 6);
    instr *n = emit(h, entry, instr_new(h, OP_PARAM, NULL, NULL));
    instr *five = emit(h, entry, instr_new(h, OP_ADD, c2, c3));
    emit(h, entry, instr_new(h, OP_BR, NULL, NULL));
    instr *i = emit(h, head, instr_new(h, OP_PHI, c0, NULL));
    instr *acc = emit(h, head, instr_new(h, OP_PHI, five, NULL));
    instr *j = emit(h, head, instr_new(h, OP_PHI, c1, NULL));
    instr *cond = emit(h, head, instr_new(h, OP_LT, i, n));
    emit(h, head, instr_new(h, OP_CBR, cond, NULL));
    instr *acc2 = emit(h, body, instr_new(h, OP_ADD, acc, i));
    instr *i2 = emit(h, body, instr_new(h, OP_ADD, i, c1));
    instr *j2 = emit(h, body, instr_new(h, OP_MUL, j, c2));
    emit(h, body, instr_new(h, OP_BR, NULL, NULL));
    add_operand(h, i, i2); /* the phis' second incoming values, from body */
    add_operand(h, acc, acc2);
    add_operand(h, j, j2);
    emit(h, exit_, instr_new(h, OP_RET, acc, NULL));
    emit(h, dead1, instr_new(h, OP_MUL, n, c6));
    emit(h, dead1, instr_new(h, OP_BR, NULL, NULL));
    emit(h, dead2, instr_new(h, OP_BR, NULL, NULL));
    return f;
}

/* ------------------------------------------------------------------ passes */

/* An operand's value if it is a constant (*ok says whether). */
static long const_value(void *v, bool *ok) {
    *ok = !is_instr(v);
    return *ok ? ((iconst *)v)->value : 0;
}

/* Folds add/mul of two constants into a constant; returns how many. */
static int fold_constants(rc_heap *h, function *f, ctable *ct) {
    int folded = 0;
    for (size_t k = 0; k < f->blocks.n; k++) {
        block *b = f->blocks.v[k];
        for (size_t j = 0; j < b->instrs.n; j++) {
            instr *i = b->instrs.v[j];
            bool oka, okb;
            if ((i->op != OP_ADD && i->op != OP_MUL) || i->ops.n != 2)
                continue;
            long a = const_value(i->ops.v[0], &oka), c = const_value(i->ops.v[1], &okb);
            if (!oka || !okb)
                continue;
            rc_auto iconst *r = iconst_get(ct, i->op == OP_ADD ? a + c : a * c);
            printf("  fold %%%d -> %ld\n", i->id, r->value);
            replace_all_uses(h, i, r);
            rc_decref(vec_take(&b->instrs, j--)); /* the instruction dies here */
            folded++;
        }
    }
    return folded;
}

/* Marks the blocks reachable from entry (depth first). */
static void mark_reachable(block *b, block **seen, size_t *nseen) {
    for (size_t k = 0; k < *nseen; k++)
        if (seen[k] == b)
            return;
    seen[(*nseen)++] = b;
    for (size_t k = 0; k < b->succs.n; k++)
        mark_reachable(b->succs.v[k], seen, nseen);
}

/* Drops the blocks that entry cannot reach; returns how many. Nothing dies
 * here: the dropped blocks still point at each other and at f. (Small
 * functions only: 64 blocks.) */
static int drop_unreachable(function *f) {
    block *seen[64];
    size_t nseen = 0;
    int dropped = 0;
    mark_reachable(f->blocks.v[0], seen, &nseen);
    for (size_t k = 0; k < f->blocks.n; k++) {
        bool live = false;
        for (size_t s = 0; s < nseen; s++)
            live |= seen[s] == f->blocks.v[k];
        if (!live) {
            block *b = vec_take(&f->blocks, k--);
            printf("  drop block %s (count now %zu)\n", b->name, rc_refcount(b) - 1);
            rc_decref(b);
            dropped++;
        }
    }
    return dropped;
}

/* Whether i is among the nlive instructions found live. */
static bool is_live(instr *i, instr **live, size_t nlive) {
    for (size_t k = 0; k < nlive; k++)
        if (live[k] == i)
            return true;
    return false;
}

/* Aggressive dead code elimination: an instruction is live if it is a
 * terminator (or the parameter) or a live instruction uses it. The rest
 * leave their blocks; a dead cycle of phis stays alive until the collector
 * runs. Returns how many left. (Small functions only: 256 instructions.) */
static int adce(function *f) {
    instr *live[256];
    size_t nlive = 0;
    for (size_t k = 0; k < f->blocks.n; k++) {
        block *b = f->blocks.v[k];
        for (size_t j = 0; j < b->instrs.n; j++) {
            instr *i = b->instrs.v[j];
            if (i->op == OP_BR || i->op == OP_CBR || i->op == OP_RET || i->op == OP_PARAM)
                live[nlive++] = i;
        }
    }
    for (size_t w = 0; w < nlive; w++) /* the worklist is the live array */
        for (size_t o = 0; o < live[w]->ops.n; o++) {
            void *v = live[w]->ops.v[o];
            if (is_instr(v) && !is_live(v, live, nlive))
                live[nlive++] = v;
        }
    int removed = 0;
    for (size_t k = 0; k < f->blocks.n; k++) {
        block *b = f->blocks.v[k];
        for (size_t j = 0; j < b->instrs.n; j++)
            if (!is_live(b->instrs.v[j], live, nlive)) {
                instr *i = vec_take(&b->instrs, j--);
                printf("  adce removes %%%d (%zu live users, count now %zu)\n", i->id,
                       count_users(i), rc_refcount(i) - 1);
                rc_decref(i);
                removed++;
            }
    }
    return removed;
}

/* The copy of v: from[k]'s is to[k]; a constant is its own. */
static void *mapped(void *v, instr **from, instr **to, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (from[k] == v)
            return to[k];
    return v; /* a constant */
}

/* A copy of f named `name`, with the parameter replaced by the constant
 * `value` (specialization). Blocks and instructions are new; constants are
 * shared through the table. (Small functions only: 256 instructions.) */
static function *specialize(rc_heap *h, function *f, ctable *ct, const char *name, long value) {
    function *g = must(rc_new(h, &function_type));
    snprintf(g->name, sizeof g->name, "%s", name);
    instr *from[256], *to[256];
    size_t n = 0;
    rc_auto iconst *arg = iconst_get(ct, value);
    for (size_t k = 0; k < f->blocks.n; k++) {
        block *b = f->blocks.v[k], *c = block_new(h, g, b->name);
        for (size_t j = 0; j < b->instrs.n; j++) {
            instr *i = b->instrs.v[j];
            if (i->op == OP_PARAM) {
                from[n] = i;
                to[n++] = (instr *)arg; /* uses of the parameter become the constant */
                continue;
            }
            from[n] = i;
            to[n++] = emit(h, c, instr_new(h, i->op, NULL, NULL));
        }
    }
    for (size_t k = 0; k < f->blocks.n; k++) { /* edges, then operands */
        block *b = f->blocks.v[k], *c = g->blocks.v[k];
        for (size_t s = 0; s < b->succs.n; s++)
            for (size_t t = 0; t < f->blocks.n; t++)
                if (f->blocks.v[t] == b->succs.v[s])
                    add_edge(h, c, g->blocks.v[t]);
        for (size_t j = 0; j < b->instrs.n; j++) {
            instr *i = b->instrs.v[j], *ci = mapped(i, from, to, n);
            if (i->op == OP_PARAM)
                continue;
            for (size_t o = 0; o < i->ops.n; o++)
                add_operand(h, ci, mapped(i->ops.v[o], from, to, n));
        }
    }
    return g;
}

/* ------------------------------------------------------------- inspection */

/* Walk callback: counts the objects it is given. */
static int count_one(void *obj, void *arg) {
    (void)obj;
    ++*(size_t *)arg;
    return 0;
}

/* The heap's own figures next to the program's: every object and weak
 * reference the heap holds, those the collector tracks (and a walk finds),
 * and the program's counts of instructions, blocks and table entries. */
static void show_counts(rc_heap *h, ctable *ct, const char *when) {
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    size_t tracked = 0;
    rc_gc_get_objects(h, -1, count_one, &tracked);
    printf("  [%s] objects=%zu tracked=%zu (walk %zu) instrs=%ld blocks=%ld consts=%zu\n", when,
           st.objects, st.tracked, tracked, live_instrs, live_blocks, ct->n);
}

/* The collector's debug lines, with addresses and times (which change from
 * run to run) written as 0x... and T. */
static void gc_log(const char *line, void *arg) {
    (void)arg;
    char out[256];
    size_t o = 0;
    for (const char *p = line; *p && o < sizeof out - 8; p++) {
        if (p[0] == '0' && p[1] == 'x') {
            memcpy(out + o, "0x...", 5);
            o += 5;
            for (p += 2; p[1] && strchr("0123456789abcdef", p[1]); p++)
                ;
            continue;
        }
        out[o++] = *p;
    }
    out[o] = 0;
    char *el = strstr(out, "s elapsed");
    if (el) { /* "..., 0.0001s elapsed" -> "..., Ts elapsed" */
        char *start = el;
        while (start > out && start[-1] != ' ')
            start--;
        memmove(start + 1, el, strlen(el) + 1);
        *start = 'T';
    }
    printf("    gc| %s\n", out);
}

/* Says when a collection ran and what it freed, automatic ones too. */
static void gc_callback(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h;
    (void)arg;
    if (strcmp(phase, "stop") == 0)
        printf("    [gc callback] generation %d: %zu collected\n", info->generation,
               info->collected);
}

/* Prints what changed between two snapshots, line by line (the lines of
 * this file that allocated). */
static void print_growth(rc_snapshot *now, rc_snapshot *before) {
    size_t n;
    rc_statistic_diff *d = must(rc_snapshot_compare_to(now, before, RC_KEY_LINENO, false, &n));
    char line[512];
    for (size_t k = 0; k < n; k++) {
        if (d[k].size_diff == 0 && d[k].count_diff == 0)
            continue;
        rc_statistic_diff_format(&d[k], line, sizeof line);
        printf("    %s\n", line);
    }
    free(d);
}

/* Writes s to a file and reads it back (what `rcgc top FILE` reads), and
 * checks that the copy holds the same traces. */
static void dump_and_reload(const rc_snapshot *s) {
    char path[] = "/tmp/ir-XXXXXX";
    int fd = mkstemp(path);
    check(fd >= 0, "mkstemp");
    close(fd);
    check(rc_snapshot_dump(s, path) == 0, "rc_snapshot_dump");
    rc_snapshot *copy = must(rc_snapshot_load(path));
    unlink(path);
    size_t n;
    rc_statistic_diff *d = must(rc_snapshot_compare_to(copy, s, RC_KEY_TRACEBACK, false, &n));
    for (size_t k = 0; k < n; k++)
        check(d[k].size_diff == 0 && d[k].count_diff == 0, "the copy has the same traces");
    free(d);
    printf("  dumped and loaded back: %zu traces, traceback limit %d\n",
           rc_snapshot_trace_count(copy), rc_snapshot_traceback_limit(copy));
    rc_snapshot_print_top(stdout, copy, RC_KEY_FILENAME, 3);
    rc_snapshot_free(copy);
}

/* Walk callback: names an object that refers to the one asked about. */
static int print_referrer(void *obj, void *arg) {
    (void)arg;
    if (is_instr(obj))
        printf("    %%%d = %s\n", ((instr *)obj)->id, opname[((instr *)obj)->op]);
    else
        printf("    a %s\n", rc_type_of(obj)->name);
    return 0;
}

/* Walk callback over gc.garbage: counts functions, blocks, instructions. */
static int count_by_type(void *obj, void *arg) {
    size_t *n = arg;
    const rc_type *t = rc_type_of(obj);
    n[0] += t == &function_type;
    n[1] += t == &block_type;
    n[2] += t == &instr_type;
    return 0;
}

/* ---------------------------------------------------------------- lowering */

/* The pass stack, handed to tracemalloc as its frames (as an interpreter
 * hands in its script lines): the innermost pass is frames[0], its line
 * the block (or the instruction count) being worked on. */
static const char *pass_name[4];
static unsigned pass_line[4];
static int npass;

static int pass_frames(rc_frame *frames, int max, void *arg) {
    (void)arg;
    int n = 0;
    for (int k = npass - 1; k >= 0 && n < max; k--, n++)
        frames[n] = (rc_frame){.filename = pass_name[k], .lineno = pass_line[k], .function = NULL};
    return npass;
}

/* Machine code lives outside the heap (mmap'ed, in a real JIT): it is
 * traced in domain 1 with rc_tracemalloc_track. Relocations are heap
 * blocks. Both are kept until unlower. */
static unsigned char *code_buf[16];
static void *relocs[16];
static size_t ncode;

static void lower(rc_heap *h, function *f) {
    pass_name[npass] = "<pass lower>";
    npass++;
    for (size_t k = 0; k < f->blocks.n && ncode < 16; k++, ncode++) {
        block *b = f->blocks.v[k];
        pass_line[npass - 1] = (unsigned)k + 1;
        pass_name[npass] = "<pass emit>";
        pass_line[npass++] = (unsigned)b->instrs.n;
        size_t size = 16 * b->instrs.n;
        code_buf[ncode] = must(malloc(size));
        check(rc_tracemalloc_track(h, 1, (uintptr_t)code_buf[ncode], size) == 0, "track");
        rc_free(h, must(rc_malloc(h, 8 * b->instrs.n))); /* a register map: gone at once */
        relocs[ncode] = must(rc_malloc(h, 24 * b->instrs.n));
        npass--;
    }
    npass--;
}

static void unlower(rc_heap *h) {
    for (size_t k = 0; k < ncode; k++) {
        rc_tracemalloc_untrack(h, 1, (uintptr_t)code_buf[k]);
        free(code_buf[k]);
        rc_free(h, relocs[k]);
    }
    ncode = 0;
}

/* ------------------------------------------------------------------ phases */

/* Dead blocks go in two steps: dropping them kills nothing (they refer to
 * each other and to their function), the collector then frees them, its
 * debug lines on. */
static void phase_unreachable(rc_heap *h, function *f, ctable *ct) {
    printf("drop unreachable blocks\n");
    check(drop_unreachable(f) == 2, "two blocks dropped");
    show_counts(h, ct, "dropped, before gc");
    rc_gc_set_log(h, gc_log, NULL);
    rc_gc_set_debug(h, RC_GC_DEBUG_STATS | RC_GC_DEBUG_COLLECTABLE);
    long got = rc_gc_collect(h, 2);
    rc_gc_set_debug(h, 0);
    printf("  collected %ld\n", got);
    show_counts(h, ct, "after gc");
}

/* A dead phi cycle survived the last full collection, so it is in
 * generation 2 now: a generation-0 collection does not see it. */
static void phase_dce(rc_heap *h, function *f, ctable *ct) {
    printf("aggressive dce\n");
    check(adce(f) == 2, "two dead instructions");
    long young = rc_gc_collect(h, 0);
    printf("  gen-0 collection: %ld (the phi cycle is in generation 2 now)\n", young);
    long full = rc_gc_collect(h, 2);
    printf("  full collection: %ld\n", full);
    print_function(f);
    show_counts(h, ct, "after dce");
}

/* What the specialization allocated, by line of this file, from two
 * snapshots; then the second one through a file and back. */
static function *phase_specialize(rc_heap *h, function *f, ctable *ct) {
    printf("specialize sum for n=10\n");
    rc_snapshot *before = must(rc_tracemalloc_take_snapshot(h));
    function *g = specialize(h, f, ct, "sum10", 10);
    rc_snapshot *after = must(rc_tracemalloc_take_snapshot(h));
    print_function(g);
    show_counts(h, ct, "specialized");
    printf("  what grew:\n");
    print_growth(after, before);
    dump_and_reload(after);
    rc_snapshot_free(before);
    rc_snapshot_free(after);
    return g;
}

/* Each traceback of s with its size, innermost pass first. */
static void print_pass_stacks(const rc_snapshot *s) {
    size_t n;
    rc_statistic *st = must(rc_snapshot_statistics(s, RC_KEY_TRACEBACK, false, &n));
    for (size_t k = 0; k < n; k++) {
        printf("    %zu B:", st[k].size);
        for (unsigned fr = 0; fr < st[k].traceback.nframe; fr++)
            printf(" %s:%u", st[k].traceback.frames[fr].filename, st[k].traceback.frames[fr].lineno);
        printf("\n");
    }
    free(st);
}

/* Lowering's allocations by pass, from the frame provider; the machine
 * code alone through a domain filter. */
static void phase_lower(rc_heap *h, function *g) {
    printf("lower sum10 (the pass stack as tracemalloc's frames)\n");
    rc_tracemalloc_clear_traces(h);
    rc_tracemalloc_set_frame_provider(h, pass_frames, NULL);
    lower(h, g);
    rc_tracemalloc_set_frame_provider(h, NULL, NULL);
    rc_snapshot *low = must(rc_tracemalloc_take_snapshot(h));
    rc_snapshot_print_top(stdout, low, RC_KEY_LINENO, 5);
    rc_filter code_only[] = {{.inclusive = true, .filename_pattern = NULL, .domain = 1}};
    rc_snapshot *code = must(rc_snapshot_filter_traces(low, code_only, 1));
    printf("  machine code only (domain 1), by pass stack:\n");
    print_pass_stacks(code);
    rc_snapshot_free(code);
    rc_snapshot_free(low);
}

/* The dropped function's cycles kept on gc.garbage (RC_GC_DEBUG_SAVEALL):
 * finalized, still there to look at, freed once the list lets go. */
static void phase_saveall(rc_heap *h, function *g, ctable *ct) {
    printf("drop sum10, saving the garbage\n");
    rc_decref(g);
    printf("  (nothing died: its blocks point back at it)\n");
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    long saved = rc_gc_collect(h, 2);
    printf("  collected %ld, garbage list %zu\n", saved, rc_gc_garbage_count(h));
    rc_gc_set_debug(h, 0);
    size_t by_type[3] = {0};
    rc_gc_garbage(h, count_by_type, by_type);
    printf("  garbage: %zu functions, %zu blocks, %zu instrs\n", by_type[0], by_type[1],
           by_type[2]);
    show_counts(h, ct, "saved");
    rc_gc_garbage_clear(h);
    printf("  garbage cleared; collected %ld\n", rc_gc_collect(h, 2));
    show_counts(h, ct, "after drop");
}

/* ------------------------------------------------------------------- main */

int main(void) {
    rc_heap *h = must(rc_heap_new());
    ctable ct = {.h = h};
    check(rc_gc_callback_add(h, gc_callback, NULL) == 0, "rc_gc_callback_add");
    check(rc_tracemalloc_start(h, 4) == 0, "rc_tracemalloc_start");

    printf("build\n");
    function *f = build_sum(h, &ct);
    print_function(f);
    show_counts(h, &ct, "built");

    printf("fold constants\n");
    check(fold_constants(h, f, &ct) == 1, "one fold");
    show_counts(h, &ct, "folded");

    phase_unreachable(h, f, &ct);
    phase_dce(h, f, &ct);
    function *g = phase_specialize(h, f, &ct);

    printf("who holds const 5?\n");
    {
        rc_auto iconst *c5 = iconst_get(&ct, 5);
        rc_gc_get_referrers(h, c5, print_referrer, NULL);
    }

    phase_lower(h, g);
    phase_saveall(h, g, &ct);
    unlower(h);

    printf("drop sum\n");
    rc_decref(f);
    printf("  collected %ld\n", rc_gc_collect(h, 2));
    show_counts(h, &ct, "all dropped");

    printf("a pass that forgets a reference\n");
    iconst *forgotten = iconst_get(&ct, 99);
    (void)forgotten;
    ctable_clear(&ct);
    rc_tracemalloc_stop(h);
    rc_gc_set_debug(h, RC_GC_DEBUG_UNCOLLECTABLE);
    size_t leaked = rc_heap_free(h);
    printf("leaked %zu\n", leaked);
    return leaked == 1 ? 0 : 1;
}
