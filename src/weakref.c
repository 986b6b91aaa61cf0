/*
 * weakref.c — weak references (CPython's weakref.ref).
 *
 * A weak reference is an rc object of rc__weakref_type. Its type has a
 * traverse that visits nothing, so weak references are tracked by the
 * collector and can be cyclic garbage themselves (then their callback never
 * runs). The weak references to one object form a doubly-linked list whose
 * head lives in h->weakrefs, keyed by the object, or in a table of its pool
 * once many of the pool's objects have one (see "where lists live"), and
 * RC_F_WEAKREFS in the object's header says the list exists: an object that
 * never had a weak reference pays nothing. List order is CPython's: the callback-less weak
 * reference first when there is one (rc_weakref_new reuses it), then those
 * with callbacks, newest first, which is the order callbacks run in.
 *
 * Clearing a weak reference sets its target to NULL and unlinks it. Death by
 * reference counting clears all of an object's weak references, then runs
 * their callbacks; the collector clears those of all its garbage first and
 * runs the callbacks afterwards (gc.c, handle_weakrefs).
 */
#include "internal.h"

struct rc_weakref {
    void *target;            /* NULL once cleared */
    rc_weakref *newer;       /* towards the head of target's list; NULL at the head */
    rc_weakref *older;       /* away from the head; also links due callbacks */
    rc_weakref_callback cb;  /* NULL: none, or it ran */
    void *arg;
};

static void weakref_traverse(void *self, rc_visit_fn visit, void *arg) {
    (void)self;
    (void)visit;
    (void)arg; /* holds no strong reference; exists so weak refs are tracked */
}

/* A weak reference dying unlinks itself from its target's list; at heap
 * teardown the lists go away with the map (rc__weakref_fini). */
static void weakref_release(void *self) {
    rc_weakref *ref = self;
    rc_heap *h = rc_obj_heap(ref);
    if (!h->dying)
        rc__weakref_clear_ref(h, ref);
}

const rc_type rc__weakref_type = {
    .name = "weakref.ReferenceType",
    .size = sizeof(rc_weakref),
    .traverse = weakref_traverse,
    .release = weakref_release,
};

/* ------------------------------------------------------ where lists live */

/* The lists of a pool's objects live in the heap's map (h->weakrefs)
 * while few of them have one; once WEAK_TABLE_AT of them do, the pool
 * gets a table of lists by block index, where new lists go, and those in
 * the map move to it when they change: a program that gives weak
 * references to many objects made together then finds their lists in
 * the order it made them, where the map's entries were a cache miss each
 * (a million weak references to objects made in order: 128 -> 49 ns each
 * to make, their targets' deaths 82 -> 27 ns; CPython's 87 and 28). A
 * large object's list stays in the map. Invariants: an object's list
 * is in its pool's table (its cell not NULL) or in the map, not both;
 * the arena counts each pool's objects with a list (weak_objects), and a
 * table goes with its pool's last list. */
typedef struct rc_weak_table {
    size_t bytes;
    rc_weakref *heads[]; /* by block index, NULL: none, or in the map */
} rc_weak_table;

/* A table pays once an eighth of its pool's blocks have a list: its 8
 * bytes a block are then 64 bytes a list, the map's 32 at half full. */
#define WEAK_TABLE_AT(capacity) ((capacity) / 8 ? (capacity) / 8 : 1)

/* p's number in its arena (an object pool's). */
static size_t pool_number(const rc_pool *p) {
    return (size_t)(rc_pool_base(p) - p->arena->first_pool) / RC_POOL_SIZE;
}

/* The cell of obj in its pool's table, or NULL when the pool has none
 * (or obj is large). */
static rc_weakref **table_cell(const void *obj) {
    if (rc_head_of(obj)->info & RC_F_LARGE)
        return NULL;
    const rc_pool *p = rc_pool_of(obj);
    rc_weak_table *t = p->arena->weak_tables[pool_number(p)];
    return t ? &t->heads[rc__pool_object_index(p, obj)] : NULL;
}

static rc_weakref *list_of(const rc_heap *h, const void *obj) {
    if (!(rc_head_of(obj)->info & RC_F_WEAKREFS))
        return NULL;
    rc_weakref **cell = table_cell(obj);
    return cell && *cell ? *cell : rc_ptrmap_get(&h->weakrefs, (uintptr_t)obj);
}

/* Counts obj's list coming (+1) or going (-1) in its pool; a table whose
 * pool's last list went is freed. */
static void count_list(rc_heap *h, const void *obj, int change) {
    if (rc_head_of(obj)->info & RC_F_LARGE)
        return;
    const rc_pool *p = rc_pool_of(obj);
    size_t n = pool_number(p);
    rc_arena *a = p->arena;
    a->weak_objects[n] = (uint16_t)(a->weak_objects[n] + change);
    rc_weak_table *t = a->weak_tables[n];
    if (a->weak_objects[n] == 0 && t) {
        a->weak_tables[n] = NULL;
        rc__sys_free(h, t, t->bytes);
    }
}

/* Room for a list of obj, which has none: its pool's table, made when
 * this one is the WEAK_TABLE_AT-th, or else the map. 0, or -1 + ENOMEM
 * (without memory for a table, the map is tried). */
static int list_room(rc_heap *h, const void *obj) {
    if (rc_head_of(obj)->info & RC_F_LARGE)
        return rc_ptrmap_reserve(h, &h->weakrefs, 1);
    rc_pool *p = rc_pool_of(obj);
    size_t n = pool_number(p);
    rc_arena *a = p->arena;
    if (a->weak_tables[n])
        return 0;
    if (a->weak_objects[n] + 1u < WEAK_TABLE_AT(p->capacity))
        return rc_ptrmap_reserve(h, &h->weakrefs, 1);
    size_t bytes = sizeof(rc_weak_table) + p->capacity * sizeof(rc_weakref *);
    int saved = errno;
    rc_weak_table *t = rc__sys_alloc_zeroed(h, bytes);
    if (t == NULL) {
        errno = saved;
        return rc_ptrmap_reserve(h, &h->weakrefs, 1);
    }
    t->bytes = bytes;
    a->weak_tables[n] = t;
    return 0;
}

/* ------------------------------------------------------------- the lists */

static bool mourned(const void *obj);

/* Whether obj, an object whose count is 0, waits on the stack of deaths
 * nested too deeply (object.c's defer_untracked) rather than dying now: a
 * dying object is mourned while its weak references are cleared. */
static bool waits(const void *obj) {
    return rc_head_of(obj)->refcnt == 0 && !mourned(obj);
}

/* Makes ref (NULL: none) the head of obj's list. obj has an entry already,
 * or room was reserved for one (list_room; and, untracked and plain, a
 * slot in the stack of deaths that wait: its death now runs callbacks).
 * Never allocates: the map keeps count * 2 <= capacity, so a put right
 * after a remove always finds room (it may free a table whose last list
 * went). An untracked plain object whose last weak
 * reference goes while its death waits on that stack keeps its slot
 * there: object.c's destroy_deferred gives it back when its turn comes
 * (else the slot would be counted free while it is taken, and deaths
 * that wait later could run past the stack's end). */
static void set_list(rc_heap *h, void *obj, rc_weakref *ref) {
    rc_head *hd = rc_head_of(obj);
    bool slot = rc_untracked_plain(hd->info);
    bool had = (hd->info & RC_F_WEAKREFS) != 0;
    rc_weakref **cell = table_cell(obj);
    if (had) {
        if (cell && *cell)
            *cell = NULL;
        else
            rc__ptrmap_remove(&h->weakrefs, (uintptr_t)obj);
        h->untracked_holders -= slot;
    }
    if (ref) { /* a list in the map moves to the table: the put needs no room */
        if (cell)
            *cell = ref;
        else
            rc__ptrmap_put(h, &h->weakrefs, (uintptr_t)obj, ref);
        hd->info |= RC_F_WEAKREFS;
        h->untracked_holders += slot;
    } else {
        hd->info &= ~RC_F_WEAKREFS;
        if (had && slot && waits(obj))
            h->untracked_holders++; /* still on the stack of deaths that wait */
    }
    if (had != (ref != NULL))
        count_list(h, obj, ref ? 1 : -1);
}

/* Links ref (target set) into its target's list at CPython's place. */
static void link_ref(rc_heap *h, rc_weakref *ref) {
    rc_weakref *head = list_of(h, ref->target);
    if (ref->cb && head && head->cb == NULL) {
        ref->newer = head; /* after the callback-less one */
        ref->older = head->older;
        if (head->older)
            head->older->newer = ref;
        head->older = ref;
        return;
    }
    ref->newer = NULL;
    ref->older = head;
    if (head)
        head->newer = ref;
    set_list(h, ref->target, ref);
}

void rc__weakref_clear_ref(rc_heap *h, rc_weakref *ref) {
    if (ref->target == NULL)
        return;
    if (ref->newer)
        ref->newer->older = ref->older;
    else
        set_list(h, ref->target, ref->older);
    if (ref->older)
        ref->older->newer = ref->newer;
    ref->target = NULL;
    ref->newer = ref->older = NULL;
}

void rc__weakref_clear_all(rc_heap *h, void *obj, void (*due)(rc_weakref *ref, void *ctx),
                           void *ctx) {
    rc_weakref *ref = list_of(h, obj);
    set_list(h, obj, NULL);
    while (ref) {
        rc_weakref *next = ref->older;
        ref->target = NULL;
        ref->newer = ref->older = NULL;
        if (ref->cb && rc_head_of(ref)->refcnt > 0)
            due(ref, ctx);
        else
            ref->cb = NULL;
        ref = next;
    }
}

void rc__weakref_fire(rc_weakref *ref) {
    rc_weakref_callback cb = ref->cb;
    ref->cb = NULL;
    if (cb)
        cb(ref, ref->arg);
}

/* ------------------------------------------------------ death by counting */

typedef struct due_list { rc_weakref *first, **tail; } due_list;

/* Queues a due callback on the older links (free once cleared), holding a
 * reference so the weak reference outlives the callbacks. */
static void queue_due(rc_weakref *ref, void *ctx) {
    due_list *d = ctx;
    rc_incref(ref);
    *d->tail = ref;
    d->tail = &ref->older;
}

/* All weak references to obj are cleared before the first callback runs.
 * Weak references a callback makes to obj are cleared without callbacks
 * (as CPython's subtype_dealloc does), so none outlives obj. */
void rc__weakref_clear_on_death(rc_heap *h, void *obj) {
    due_list d = {NULL, &d.first};
    rc_finalizing m = {obj, h->mourning};
    h->mourning = &m;
    rc__weakref_clear_all(h, obj, queue_due, &d);
    /* Every due weak reference is held until the last callback has run, as
     * CPython holds them in a tuple: one whose callback ran is still
     * reachable to a collection a later callback runs. */
    for (rc_weakref *ref = d.first; ref; ref = ref->older)
        rc__weakref_fire(ref);
    for (rc_weakref *ref = d.first, *next; ref; ref = next) {
        next = ref->older;
        ref->older = NULL;
        rc_decref(ref);
    }
    /* still mourned meanwhile: obj dies now, it does not wait (set_list) */
    while (rc_head_of(obj)->info & RC_F_WEAKREFS) {
        rc_weakref *ref = list_of(h, obj);
        ref->cb = NULL;
        rc__weakref_clear_ref(h, ref);
    }
    h->mourning = m.outer;
}

void rc__weakref_fini(rc_heap *h) {
    rc__ptrmap_free(h, &h->weakrefs);
    for (rc_arena *a = h->arenas; a; a = a->next)
        for (size_t n = 0; n < RC_ARENA_SIZE / RC_POOL_SIZE; n++)
            if (a->weak_tables[n]) {
                rc__sys_free(h, a->weak_tables[n], a->weak_tables[n]->bytes);
                a->weak_tables[n] = NULL;
            }
}

/* ------------------------------------------------------------ public API */

/* Whether the callbacks of obj's death are running. */
static bool mourned(const void *obj) {
    return rc_finalizing_has(rc_obj_heap(obj)->mourning, obj);
}

/* Whether obj is gone for the weak references: dying (count 0), or
 * released by rc_heap_free (step 4: its count is immortal then, and its
 * list stays until the map goes), as a CPython object is from its dealloc. */
static bool gone(const void *obj) {
    const rc_head *hd = rc_head_of(obj);
    return hd->refcnt == 0 || (hd->info & RC_F_RELEASED);
}

/* Whether obj, a live object (checked), is a weak reference. */
static bool is_weakref(const void *obj) {
    return rc__type(rc_obj_heap(obj), rc_head_of(obj)) == &rc__weakref_type;
}

rc_weakref *rc_weakref_new_at(void *target, rc_weakref_callback cb, void *arg,
                              const char *file, int line, const char *func) {
    /* An rc_malloc block is no object: its false header would give it a
     * type (or fault), and the weak reference would hand the block out
     * after rc_free. Named, as a dead object is, before its type is read. */
    if (target != NULL)
        rc_check_not_freed(target, "rc_weakref_new");
    /* CPython's weak references cannot be weakly referenced (TypeError) */
    if (target == NULL || is_weakref(target)) {
        errno = EINVAL;
        return NULL;
    }
    /* An object whose count is 0 gets one only while the callbacks of its
     * death run (cleared after them, silently): later it would outlive it. */
    if (rc_head_of(target)->refcnt == 0 && !mourned(target))
        rc__fatal("rc_weakref_new", "of a dead object", target);
    rc_heap *h = rc_obj_heap(target);
    rc_weakref *head = list_of(h, target);
    if (cb == NULL && head && head->cb == NULL && !gone(head))
        return rc_incref(head); /* not one whose death waits (count 0) */
    /* The automatic collection its allocation may call for runs once the
     * reference is made (CPython 3.12: at the next bytecode boundary). */
    h->gc.auto_later = true;
    rc_weakref *ref = rc_new_at(h, &rc__weakref_type, file, line, func);
    h->gc.auto_later = false;
    if (ref == NULL)
        return NULL;
    uint32_t info = rc_head_of(target)->info;
    if (!(info & RC_F_WEAKREFS) &&
        ((rc_untracked_plain(info) && !rc__untracked_room(h)) || list_room(h, target) != 0)) {
        rc_decref(ref);
        errno = ENOMEM;
        return NULL;
    }
    ref->target = target;
    ref->cb = cb;
    ref->arg = arg;
    link_ref(h, ref);
    h->gc.weakrefs_made++;
    rc__gc_collect_auto(h);
    return ref;
}

#undef rc_weakref_new
rc_weakref *rc_weakref_new(void *target, rc_weakref_callback cb, void *arg) {
    return rc_weakref_new_at(target, cb, arg, NULL, 0, NULL);
}

void *rc_weakref_get(rc_weakref *ref) {
    if (ref == NULL)
        return NULL;
    /* a weak reference dropped for good: its fields are a free block's */
    if (RC_UNLIKELY(rc_head_of(ref)->refcnt == 0))
        rc__fatal("rc_weakref_get", "of a dead object", ref);
    void *t = ref->target;
    /* released: its memory waits for step 5, and its release may have
     * freed what it holds */
    if (t == NULL || gone(t))
        return NULL;
    return rc_incref(t);
}

size_t rc_weakref_count(const void *target) {
    size_t n = 0;
    if (target == NULL)
        return 0;
    rc_check_not_freed(target, "rc_weakref_count");
    if (rc_head_of(target)->info & RC_F_RELEASED)
        return 0;
    for (rc_weakref *ref = list_of(rc_obj_heap(target), target); ref; ref = ref->older)
        n += !gone(ref);
    return n;
}

bool rc_weakref_check(const void *obj) {
    if (obj == NULL)
        return false;
    rc_check_not_freed(obj, "rc_weakref_check");
    return is_weakref(obj);
}
