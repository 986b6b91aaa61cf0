/*
 * plugins.c — a plugin host on rcgc.
 *
 * Plugins are shared objects (examples/plugins/NAME.c) loaded with dlopen.
 * Each defines types of its own, makes objects in the host's heap and
 * registers them with the host: a registry of strong references under
 * names, and a weak-valued cache whose entries leave when their objects
 * die. Plugins hold each other's objects and the host's: the alpha
 * plugin's gadget keeps an inbox (a host list) that keeps the gadget, and
 * the beta plugin posts a widget that holds the gadget to that inbox, so
 * the cycles run through both plugins and the host.
 *
 * A plugin's code must stay loaded while an object of one of its types
 * lives: its traverse, finalizer and clear run when the object dies, and
 * reports name the object by its type's name, a string in the plugin.
 * So unloading is: the plugin drops its references (its fini), the host
 * drops what the plugin registered, a full collection frees the cycles
 * (running the plugin's finalizers), and the host walks the tracked
 * objects (rc_gc_get_objects) for one whose type lies in the plugin's
 * code (dladdr). Only when there is none does it dlclose the plugin (the
 * collection also makes the heap forget the type it made last, which the
 * code loaded next could put another type in the place of). beta cannot
 * go first: alpha's inbox keeps its widget (the host finds out, and who
 * holds it, with rc_gc_get_referrers). alpha is then loaded again.
 *
 * tracemalloc runs with 8 frames, so tracebacks go through plugin code:
 * statistics by line and by traceback while the plugins are loaded, and
 * the difference between the snapshots before loading and after
 * unloading: what the plugins left behind, with tracebacks. One is a
 * text alpha's fini gave the host: return addresses are resolved when a
 * traceback is first shown, and this one was first shown after the
 * dlclose, so its frame in alpha is read from alpha.so's file, as alpha
 * was loaded then (alpha.c:68 in alpha_fini), also after alpha is loaded
 * again; were the file changed or gone, it would show as alpha.so+0xOFFSET.
 * The last snapshot is dumped for the rcgc command.
 *
 * Usage: plugins [PLUGIN_DIR [DUMP]]. The plugins are PLUGIN_DIR/NAME.so
 * (CMake builds them in plugin-modules/ and makes that the default); with
 * DUMP, the last snapshot is left there for `rcgc top DUMP --key
 * traceback`.
 *
 * Built by hand against an installed rcgc, host and plugins share the
 * shared library (one copy of rcgc in the process), and the plugins are
 * built with -g and frame pointers, as tracebacks through them want:
 *
 *   cc -g -O2 -fno-omit-frame-pointer -o plugins plugins.c \
 *      $(pkg-config --cflags --libs rcgc) -ldl
 *   cc -g -O2 -fno-omit-frame-pointer -fPIC -shared -o alpha.so \
 *      plugins/alpha.c $(pkg-config --cflags --libs rcgc)
 */
#define _GNU_SOURCE
#include "plugins/host.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static rc_heap *h;

/* What the host expects of the library and its plugins, checked as it
 * goes (out of memory included): it says what failed, and stops. */
static void check(bool ok, const char *what) {
    if (ok)
        return;
    printf("CHECK FAILED: %s (%s)\n", what, strerror(errno));
    exit(1);
}

/* p, which must not be NULL (a new object or block). */
static void *must(void *p) {
    check(p != NULL, "allocation");
    return p;
}

/* ------------------------------------------------------------ host types */

/* A list: strong references in an rc_malloc array. */
typedef struct list { size_t n, cap; void **items; } list;

/* Its items are its references; its array goes when it dies. */
static void list_traverse(void *self, rc_visit_fn visit, void *arg) {
    list *l = self;
    for (size_t i = 0; i < l->n; i++)
        RC_VISIT(l->items[i]);
}
static void list_release(void *self) {
    list *l = self;
    rc_free(rc_heap_of(l), l->items);
}
static const rc_type list_type = {
    .name = "host.list", .size = sizeof(list),
    .traverse = list_traverse, .release = list_release,
};

/* The host's services to plugins (host.h says what each does). */
static void *list_new(void) { return must(rc_new(h, &list_type)); }

static void list_append(void *self, void *obj) {
    list *l = self;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->items = must(rc_realloc(h, l->items, l->cap * sizeof *l->items));
    }
    l->items[l->n++] = rc_incref(obj);
}

/* A text: an untracked object holding a string. */
typedef struct text { size_t len; char s[]; } text;
static const rc_type text_type = {.name = "host.text", .size = sizeof(text)};

/* A new text holding a copy of s. */
static void *text_new(const char *s) {
    size_t len = strlen(s);
    text *t = must(rc_new_sized(h, &text_type, sizeof(text) + len + 1));
    t->len = len;
    memcpy(t->s, s, len + 1);
    return t;
}

static const char *text_str(const void *t) { return ((const text *)t)->s; }

/* -------------------------------------------------------------- plugins */

typedef struct plugin {
    const char *name;
    void *handle;              /* NULL once unloaded */
    const plugin_api *api;     /* NULL once its fini ran */
    const void *base;          /* where its code was loaded */
} plugin;

static plugin *current;        /* the plugin whose init or fini runs */

/* ------------------------------------------------------------- registry */

/* The registry: an rc object, so that rc_gc_get_referrers names it. */
typedef struct entry { char name[32]; void *obj; const plugin *owner; } entry;
typedef struct registry { size_t n, cap; entry *e; } registry;

/* Its entries' objects are its references; its array goes when it dies. */
static void registry_traverse(void *self, rc_visit_fn visit, void *arg) {
    registry *r = self;
    for (size_t i = 0; i < r->n; i++)
        RC_VISIT(r->e[i].obj);
}
static void registry_release(void *self) {
    registry *r = self;
    rc_free(rc_heap_of(r), r->e);
}
static const rc_type registry_type = {
    .name = "host.registry", .size = sizeof(registry),
    .traverse = registry_traverse, .release = registry_release,
};

static registry *reg;

/* A new entry holding obj (borrowed), its owner for the caller to set:
 * publish and donate do not tail-call it, so that their frames stay in
 * the tracebacks of what it allocates. */
static entry *registry_put(const char *name, void *obj) {
    if (reg->n == reg->cap) {
        reg->cap = reg->cap ? 2 * reg->cap : 8;
        reg->e = must(rc_realloc(h, reg->e, reg->cap * sizeof *reg->e));
    }
    entry *e = &reg->e[reg->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->obj = rc_incref(obj);
    return e;
}

static void publish(const char *name, void *obj) { registry_put(name, obj)->owner = current; }
static void donate(const char *name, void *obj) { registry_put(name, obj)->owner = NULL; }

/* Drops the entries p published, keeping the others in order. The
 * entries go out of the registry before their references are dropped:
 * a drop may run code that publishes. */
static void registry_drop(const plugin *p) {
    entry *gone = must(malloc((reg->n + 1) * sizeof *gone));
    size_t kept = 0, ngone = 0;
    for (size_t i = 0; i < reg->n; i++) {
        if (reg->e[i].owner == p)
            gone[ngone++] = reg->e[i];
        else
            reg->e[kept++] = reg->e[i];
    }
    reg->n = kept;
    for (size_t i = 0; i < ngone; i++) {
        printf("  registry drops %s\n", gone[i].name);
        rc_decref(gone[i].obj);
    }
    free(gone);
}

/* ---------------------------------------------------------------- cache */

/* The weak-valued cache: each entry's weak reference removes it when its
 * object dies (the guide's "cache entry that removes itself"). */
typedef struct slot { char name[32]; rc_weakref *ref; } slot;
static slot cache_slots[16];

/* The weak reference's callback: its object died. */
static void cache_forget(rc_weakref *ref, void *arg) {
    slot *s = arg;
    if (s->ref != ref)
        return;
    printf("  cache forgets %s\n", s->name);
    RC_CLEAR(s->ref);
}

/* Remembers obj under name, without keeping it alive. */
static void cache(const char *name, void *obj) {
    for (size_t i = 0; i < sizeof cache_slots / sizeof *cache_slots; i++) {
        slot *s = &cache_slots[i];
        if (s->ref == NULL) {
            snprintf(s->name, sizeof s->name, "%s", name);
            s->ref = must(rc_weakref_new(obj, cache_forget, s));
            return;
        }
    }
    check(false, "cache full");
}

/* The registry first, then the cache (whose object may be dead: NULL). */
static void *lookup(const char *name) {
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->e[i].name, name) == 0)
            return rc_incref(reg->e[i].obj);
    for (size_t i = 0; i < sizeof cache_slots / sizeof *cache_slots; i++)
        if (cache_slots[i].ref && strcmp(cache_slots[i].name, name) == 0)
            return rc_weakref_get(cache_slots[i].ref);
    return NULL;
}

/* A plugin's line of output, indented under the host's. */
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("    ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static host_api host;

/* ----------------------------------------------------- loading, unloading */

#ifndef PLUGIN_DIR
#define PLUGIN_DIR "."
#endif
static const char *plugin_dir = PLUGIN_DIR;

/* Loads p and runs its init, which publishes its objects. */
static void load(plugin *p) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.so", plugin_dir, p->name);
    p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (p->handle == NULL) {
        printf("dlopen: %s\n", dlerror());
        exit(1);
    }
    p->api = dlsym(p->handle, "rcgc_plugin");
    Dl_info info;
    check(p->api && dladdr(p->api, &info), "rcgc_plugin");
    p->base = info.dli_fbase;
    current = p;
    check(p->api->init(&host) == 0, "plugin init");
    current = NULL;
    printf("loaded %s\n", p->name);
}

/* Whether obj's type is p's: its rc_type lies in p's code. */
static bool type_in(const void *obj, const plugin *p) {
    Dl_info info;
    return dladdr(rc_type_of(obj), &info) && info.dli_fbase == p->base;
}

/* Walk callbacks: a holder of a plugin's object; a plugin's object. */
static int print_referrer(void *obj, void *arg) {
    printf("      held by <%s>\n", rc_type_of(obj)->name);
    return 0;
}

typedef struct census { const plugin *p; size_t n; } census;

static int count_own(void *obj, void *arg) {
    census *c = arg;
    if (type_in(obj, c->p)) {
        printf("    <%s> alive\n", rc_type_of(obj)->name);
        rc_gc_get_referrers(h, obj, print_referrer, NULL);
        c->n++;
    }
    return 0;
}

/* The tracked objects whose type p defines, listed with their holders. */
static size_t live_objects(const plugin *p) {
    census c = {p, 0};
    check(rc_gc_get_objects(h, -1, count_own, &c) == 0, "rc_gc_get_objects");
    return c.n;
}

/* Unloads p once no object of its types lives; -1 (p stays loaded) while
 * some do. */
static int unload(plugin *p) {
    printf("unload %s\n", p->name);
    if (p->api) {
        current = p;
        p->api->fini();
        current = NULL;
        p->api = NULL;
        registry_drop(p);
    }
    /* the count takes in, as gc.collect()'s does, a weak reference that
     * its own callback freed (the cache's, when it forgets an entry) */
    long n = rc_gc_collect(h, 2);
    printf("  collected %ld\n", n);
    if (live_objects(p) > 0) {
        printf("  %s stays loaded\n", p->name);
        return -1;
    }
    check(dlclose(p->handle) == 0, "dlclose");
    p->handle = NULL;
    printf("  %s unloaded\n", p->name);
    return 0;
}

/* ---------------------------------------------------------------- reports */

/* The collector's debug lines (RC_GC_DEBUG_COLLECTABLE's), addresses left
 * out. */
static void gc_log(const char *line, void *arg) {
    const char *at = strstr(line, " 0x");
    printf("  %.*s%s\n", at ? (int)(at - line) : (int)strlen(line), line, at ? ">" : "");
}

/* A traceback's frames, most recent first, up to main (the C library's
 * frames past it depend on its debug information being installed). */
static void print_frames(const rc_traceback *tb, const char *indent) {
    for (unsigned i = 0; i < tb->nframe; i++) {
        const rc_frame *f = &tb->frames[i];
        printf("%s%s:%u in %s\n", indent, f->filename, f->lineno, f->function ? f->function : "?");
        if (f->function && strcmp(f->function, "main") == 0)
            break;
    }
}

/* The top tracebacks, frames most recent first. */
static void print_tracebacks(const rc_snapshot *s, size_t limit) {
    size_t n;
    rc_statistic *st = must(rc_snapshot_statistics(s, RC_KEY_TRACEBACK, false, &n));
    for (size_t i = 0; i < n && i < limit; i++) {
        printf("  size=%zu B, count=%zu\n", st[i].size, st[i].count);
        print_frames(&st[i].traceback, "    ");
    }
    free(st);
}

/* What grew or shrank between two snapshots, each traceback with its
 * frames: what the plugins left behind. */
static void print_leftovers(const rc_snapshot *now, const rc_snapshot *old) {
    size_t n;
    rc_statistic_diff *d = must(rc_snapshot_compare_to(now, old, RC_KEY_TRACEBACK, false, &n));
    for (size_t i = 0; i < n && (d[i].size_diff != 0 || d[i].count_diff != 0); i++) {
        printf("  %+lld B, %+lld traces\n", d[i].size_diff, d[i].count_diff);
        print_frames(&d[i].traceback, "    ");
    }
    free(d);
}

/* Where the object registered under name was made. */
static void print_object_traceback(const char *name) {
    void *obj = lookup(name);
    check(obj != NULL, name);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, obj);
    check(tb != NULL, "rc_tracemalloc_get_object_traceback");
    printf("  %s \"%s\" allocated at\n", name, text_str(obj));
    print_frames(tb, "    ");
    rc_decref(obj);
}

/* Writes s to path (a temporary file when NULL, removed after) and reads
 * it back, as the rcgc command would. */
static void dump_and_load(const rc_snapshot *s, const char *path) {
    char tmp[] = "/tmp/plugins-XXXXXX";
    int fd = path ? -1 : mkstemp(tmp);
    check(path || fd >= 0, "mkstemp");
    if (fd >= 0)
        close(fd);
    check(rc_snapshot_dump(s, path ? path : tmp) == 0, "rc_snapshot_dump");
    rc_snapshot *copy = must(rc_snapshot_load(path ? path : tmp));
    if (fd >= 0)
        unlink(tmp);
    check(rc_snapshot_trace_count(copy) == rc_snapshot_trace_count(s), "the same traces");
    printf("[ dumped and loaded back: %zu traces, traceback limit %d; the largest ]\n",
           rc_snapshot_trace_count(copy), rc_snapshot_traceback_limit(copy));
    print_tracebacks(copy, 1);
    rc_snapshot_free(copy);
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv) {
    if (argc > 1)
        plugin_dir = argv[1];
    h = must(rc_heap_new());
    host = (host_api){
        .heap = h, .list_new = list_new, .list_append = list_append,
        .text_new = text_new, .text_str = text_str, .publish = publish, .donate = donate,
        .cache = cache, .lookup = lookup, .say = say,
    };
    check(rc_tracemalloc_start(h, 8) == 0, "rc_tracemalloc_start");
    reg = must(rc_new(h, &registry_type));
    rc_snapshot *before = must(rc_tracemalloc_take_snapshot(h));

    plugin alpha = {.name = "alpha"}, beta = {.name = "beta"};
    load(&alpha);
    load(&beta);
    rc_snapshot *loaded = must(rc_tracemalloc_take_snapshot(h));
    rc_snapshot_print_top(stdout, loaded, RC_KEY_LINENO, 8);
    printf("[ Top 3 tracebacks ]\n");
    print_tracebacks(loaded, 3);

    rc_gc_set_log(h, gc_log, NULL);
    rc_gc_set_debug(h, RC_GC_DEBUG_COLLECTABLE);
    check(unload(&beta) == -1, "beta kept by alpha's inbox");
    check(unload(&alpha) == 0, "alpha unloaded");
    check(unload(&beta) == 0, "beta unloaded");
    rc_gc_set_debug(h, 0);

    rc_snapshot *unloaded = must(rc_tracemalloc_take_snapshot(h));
    printf("[ after unloading, compared with before loading ]\n");
    print_leftovers(unloaded, before);

    load(&alpha);
    print_object_traceback("alpha.farewell");
    rc_snapshot *again = must(rc_tracemalloc_take_snapshot(h));
    printf("[ Top 3 tracebacks, alpha reloaded ]\n");
    print_tracebacks(again, 3);
    dump_and_load(again, argc > 2 ? argv[2] : NULL);
    check(unload(&alpha) == 0, "alpha unloaded again");

    rc_snapshot_free(again);
    rc_snapshot_free(unloaded);
    rc_snapshot_free(loaded);
    rc_snapshot_free(before);
    RC_CLEAR(reg);
    rc_tracemalloc_stop(h);
    size_t leaked = rc_heap_free(h);
    printf("leaked %zu\n", leaked);
    return leaked != 0;
}
