/* unload_host.c — allocates from plugb.so on two heaps, unloads it, loads
 * plugc.so (most likely where plugb.so was), allocates from it, and only
 * then shows tracebacks: the second heap's while plugb.so's file is
 * changed (its name and an offset, printed as OFF), then, the file as it
 * was again, the first heap's (its lines). Never plugc.c's lines for
 * plugb's code. Run from the directory holding the plugins. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include "tracebacks.h"
#include <rcgc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef void *(*alloc_fn)(rc_heap *);

static void top(rc_heap *h, const char *step) {
    rc_snapshot *s;
    size_t n;
    rc_statistic *st = traceback_statistics(h, &s, &n);
    for (size_t i = 0; i < n; i++) {
        printf("%s: %zu B", step, st[i].size);
        for (unsigned j = 0; j < st[i].traceback.nframe && j < 2; j++) {
            const char *file = st[i].traceback.frames[j].filename, *off = strstr(file, "+0x");
            printf(" %.*s%s:%u", off ? (int)(off - file) : (int)strlen(file), file,
                   off ? "+OFF" : "", st[i].traceback.frames[j].lineno);
        }
        printf("\n");
    }
    free(st);
    rc_snapshot_free(s);
}

/* Where the object holding f was loaded. */
static void *base_of(alloc_fn f) {
    Dl_info info;
    return dladdr((void *)f, &info) ? info.dli_fbase : NULL;
}

static alloc_fn load(const char *path, void **handle) {
    *handle = dlopen(path, RTLD_NOW);
    if (*handle == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        exit(2);
    }
    return (alloc_fn)dlsym(*handle, "plugin_alloc");
}

int main(int argc, char **argv) {
    rc_heap *h1 = rc_heap_new(), *h2 = rc_heap_new();
    rc_tracemalloc_start(h1, 4);
    rc_tracemalloc_start(h2, 4);
    void *hb, *hc;
    alloc_fn b = load("./plugb.so", &hb), late = (alloc_fn)dlsym(hb, "plugin_alloc_late");
    void *b1 = b(h1), *b2 = late(h2), *where = base_of(b);
    dlclose(hb);
    alloc_fn c = load("./plugc.so", &hc);
    if (argc > 1) /* whether plugc.so took plugb.so's place, for a human */
        fprintf(stderr, "%s\n", base_of(c) == where ? "same place" : "elsewhere");
    void *c1 = c(h1);
    struct stat st;
    struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}}; /* a new mtime */
    if (stat("plugb.so", &st) != 0 || utimensat(AT_FDCWD, "plugb.so", times, 0) != 0)
        return 4;
    top(h2, "changed");
    times[1] = st.st_mtim;
    if (utimensat(AT_FDCWD, "plugb.so", times, 0) != 0)
        return 4;
    top(h1, "reloaded");
    rc_decref(b1);
    rc_decref(b2);
    rc_decref(c1);
    dlclose(hc);
    return (int)(rc_heap_free(h1) | rc_heap_free(h2));
}
