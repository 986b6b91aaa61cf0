/* host.c — loads plugb.so, keeps an object it made and shows it, keeps a
 * second one made on another path and not shown, unloads the plugin, then
 * loads plugc.so; after each step prints the two innermost frames of every
 * statistic of a snapshot (by traceback), and of kept objects' own
 * tracebacks. Run from the directory holding the plugins. */
#include <dlfcn.h>
#include "tracebacks.h"
#include <rcgc.h>
#include <stdio.h>
#include <stdlib.h>

typedef void *(*alloc_fn)(rc_heap *);

static void frames(const rc_traceback *tb) {
    for (unsigned i = 0; i < tb->nframe && i < 2; i++)
        printf(" %s:%u", tb->frames[i].filename, tb->frames[i].lineno);
    printf("\n");
}

static void top(rc_heap *h, const char *step) {
    rc_snapshot *s;
    size_t n;
    rc_statistic *st = traceback_statistics(h, &s, &n);
    for (size_t i = 0; i < n; i++) {
        printf("%s: %zu B", step, st[i].size);
        frames(&st[i].traceback);
    }
    free(st);
    rc_snapshot_free(s);
}

static void *load(const char *path, void **handle) {
    *handle = dlopen(path, RTLD_NOW);
    if (*handle == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        exit(2);
    }
    return dlsym(*handle, "plugin_alloc");
}

int main(void) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 4);
    void *hb, *hc;
    void *b = ((alloc_fn)load("./plugb.so", &hb))(h);
    top(h, "loaded");
    void *late = ((alloc_fn)dlsym(hb, "plugin_alloc_late"))(h);
    dlclose(hb);
    top(h, "unloaded");
    printf("b after unload:");
    frames(rc_tracemalloc_get_object_traceback(h, b));
    void *c = ((alloc_fn)load("./plugc.so", &hc))(h);
    top(h, "reloaded");
    printf("c:");
    frames(rc_tracemalloc_get_object_traceback(h, c));
    rc_decref(b);
    rc_decref(late);
    rc_decref(c);
    dlclose(hc);
    return (int)rc_heap_free(h);
}
