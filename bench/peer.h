/*
 * peer.h — one allocator behind four calls, chosen when the program is
 * compiled (bench/CMakeLists.txt builds each workload once per peer, so
 * every allocator runs in its own executable and none replaces another's
 * malloc):
 *
 *     peer_init()      before the first allocation
 *     peer_alloc(n)    n bytes
 *     peer_free(p)     gives p back (Boehm: GC_FREE)
 *     peer_roots(n)    a zeroed array of n pointers the peer sees as roots
 *                      (Boehm scans it; it is never freed)
 *
 * PEER_NAME names the peer and peer_version() its library version.
 */
#ifndef RCGC_BENCH_PEER_H
#define RCGC_BENCH_PEER_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(PEER_RC)
#include "rcgc.h"
#define PEER_NAME "rcgc"
static rc_heap *peer_heap;
static void peer_init(void) {
    if ((peer_heap = rc_heap_new()) == NULL) {
        perror("rc_heap_new");
        exit(2);
    }
}
static inline void *peer_alloc(size_t n) { return rc_malloc(peer_heap, n); }
static inline void peer_free(void *p) { rc_free(peer_heap, p); }
static const char *peer_version(void) { return rc_version(); }
static inline void **peer_roots(size_t n) { return calloc(n, sizeof(void *)); }

#elif defined(PEER_GLIBC)
#include <gnu/libc-version.h>
#define PEER_NAME "glibc malloc"
static void peer_init(void) {}
static inline void *peer_alloc(size_t n) { return malloc(n); }
static inline void peer_free(void *p) { free(p); }
static const char *peer_version(void) { return gnu_get_libc_version(); }
static inline void **peer_roots(size_t n) { return calloc(n, sizeof(void *)); }

#elif defined(PEER_MIMALLOC)
#include <mimalloc.h>
#define PEER_NAME "mimalloc"
static void peer_init(void) {}
static inline void *peer_alloc(size_t n) { return mi_malloc(n); }
static inline void peer_free(void *p) { mi_free(p); }
static inline void **peer_roots(size_t n) { return mi_calloc(n, sizeof(void *)); }
static const char *peer_version(void) {
    static char v[32];
    int n = mi_version();
    snprintf(v, sizeof v, "%d.%d.%d", n / 100, n / 10 % 10, n % 10);
    return v;
}

#elif defined(PEER_JEMALLOC)
/* Debian's jemalloc has no symbol prefix: linked in, it is malloc. */
#include <jemalloc/jemalloc.h>
#define PEER_NAME "jemalloc"
static void peer_init(void) {}
static inline void *peer_alloc(size_t n) { return malloc(n); }
static inline void peer_free(void *p) { free(p); }
static inline void **peer_roots(size_t n) { return calloc(n, sizeof(void *)); }
static const char *peer_version(void) {
    const char *v = "not in use";
    size_t len = sizeof v;
    mallctl("version", &v, &len, NULL, 0); /* fails unless jemalloc is malloc */
    return v;
}

#elif defined(PEER_BOEHM)
#include <gc/gc.h>
#define PEER_NAME "Boehm GC"
static void peer_init(void) { GC_INIT(); }
static inline void *peer_alloc(size_t n) { return GC_MALLOC(n); }
static inline void peer_free(void *p) { GC_FREE(p); }
static inline void **peer_roots(size_t n) { return GC_MALLOC_UNCOLLECTABLE(n * sizeof(void *)); }
static const char *peer_version(void) {
    static char v[32];
    unsigned n = GC_get_version();
    snprintf(v, sizeof v, "%u.%u.%u", n >> 16, (n >> 8) & 0xff, n & 0xff);
    return v;
}

#elif defined(PEER_PYMEM)
/* CPython's own allocator (pymalloc behind PyMem_Malloc) in an embedded
 * interpreter; PYTHONMALLOC must not be set for pymalloc to be measured. */
#include <Python.h>
#define PEER_NAME "CPython PyMem"
static void peer_init(void) {
    Py_InitializeEx(0);
    if (getenv("PYTHONMALLOC"))
        fprintf(stderr, "bench: PYTHONMALLOC is set; PyMem_Malloc may not be pymalloc\n");
}
static inline void *peer_alloc(size_t n) { return PyMem_Malloc(n); }
static inline void peer_free(void *p) { PyMem_Free(p); }
static inline void **peer_roots(size_t n) { return calloc(n, sizeof(void *)); }
static const char *peer_version(void) { return Py_GetVersion(); }

#else
#error "compile with one of -DPEER_RC, -DPEER_GLIBC, -DPEER_MIMALLOC, -DPEER_JEMALLOC, -DPEER_BOEHM, -DPEER_PYMEM"
#endif

#endif /* RCGC_BENCH_PEER_H */
