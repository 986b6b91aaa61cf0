/*
 * weakref.c — weak references (CPython's weakref.ref).
 *
 * A weak reference is an rc object of rc__weakref_type. Its type has a
 * traverse that visits nothing, so weak references are tracked by the
 * collector and can be cyclic garbage themselves (then their callback never
 * runs). The weak references to one object form a doubly-linked list whose
 * head lives in h->weakrefs, keyed by the object, and RC_F_WEAKREFS in the
 * object's header says the entry exists: an object that never had a weak
 * reference pays nothing. List order is CPython's: the callback-less weak
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

/* ------------------------------------------------------------- the lists */

static rc_weakref *list_of(const rc_heap *h, const void *obj) {
    if (!(rc_head_of(obj)->info & RC_F_WEAKREFS))
        return NULL;
    return rc_ptrmap_get(&h->weakrefs, (uintptr_t)obj);
}

static bool mourned(const void *obj);

/* Whether obj, an object whose count is 0, waits on the stack of deaths
 * nested too deeply (object.c's defer_untracked) rather than dying now: a
 * dying object is mourned while its weak references are cleared. */
static bool waits(const void *obj) {
    return rc_head_of(obj)->refcnt == 0 && !mourned(obj);
}

/* Makes ref (NULL: none) the head of obj's list. obj has an entry already,
 * or room was reserved for one (and, untracked and plain, a slot in the
 * stack of deaths that wait: its death now runs callbacks). Never
 * allocates: the map keeps count * 2 <= capacity, so a put right after a
 * remove always finds room. An untracked plain object whose last weak
 * reference goes while its death waits on that stack keeps its slot
 * there: object.c's destroy_deferred gives it back when its turn comes
 * (else the slot would be counted free while it is taken, and deaths
 * that wait later could run past the stack's end). */
static void set_list(rc_heap *h, void *obj, rc_weakref *ref) {
    rc_head *hd = rc_head_of(obj);
    bool slot = rc_untracked_plain(hd->info);
    bool had = (hd->info & RC_F_WEAKREFS) != 0;
    if (had) {
        rc__ptrmap_remove(&h->weakrefs, (uintptr_t)obj);
        h->untracked_holders -= slot;
    }
    if (ref) {
        rc__ptrmap_put(h, &h->weakrefs, (uintptr_t)obj, ref);
        hd->info |= RC_F_WEAKREFS;
        h->untracked_holders += slot;
    } else {
        hd->info &= ~RC_F_WEAKREFS;
        if (had && slot && waits(obj))
            h->untracked_holders++; /* still on the stack of deaths that wait */
    }
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

void rc__weakref_fini(rc_heap *h) { rc__ptrmap_free(h, &h->weakrefs); }

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
        (rc__ptrmap_reserve(h, &h->weakrefs, 1) != 0 ||
         (rc_untracked_plain(info) && !rc__untracked_room(h)))) {
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
