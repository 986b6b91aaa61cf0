/*
 * gc.c — the cycle collector. PLACEHOLDER while the collector is written:
 * tracking lists and counts only; rc_gc_collect finds nothing yet.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

static void list_init(rc_gchead *l) { l->next = l->prev = (uintptr_t)l; }

static void list_append(rc_gchead *node, rc_gchead *list) {
    rc_gchead *last = (rc_gchead *)list->prev;
    node->prev = (uintptr_t)last;
    node->next = (uintptr_t)list;
    last->next = (uintptr_t)node;
    list->prev = (uintptr_t)node;
}

static void list_remove(rc_gchead *node) {
    rc_gchead *prev = (rc_gchead *)node->prev, *next = (rc_gchead *)node->next;
    prev->next = (uintptr_t)next;
    next->prev = (uintptr_t)prev;
    node->next = 0;
}

void rc__gc_init(rc_heap *h) {
    static const long thresholds[RC_GC_GENERATIONS] = {700, 10, 10};
    for (int i = 0; i < RC_GC_GENERATIONS; i++) {
        list_init(&h->gc.gen[i].head);
        h->gc.gen[i].threshold = thresholds[i];
    }
    list_init(&h->gc.permanent);
    h->gc.enabled = true;
}

void rc__gc_link(rc_heap *h, rc_gchead *g) {
    h->gc.gen[0].count++;
    list_append(g, &h->gc.gen[0].head);
}

void rc__gc_unlink(rc_heap *h, rc_gchead *g) {
    (void)h;
    if (g->next)
        list_remove(g);
}

void rc__gc_retrack(rc_heap *h, rc_gchead *g) { list_append(g, &h->gc.gen[0].head); }

void rc__gc_fini(rc_heap *h) { (void)h; }

void rc__gc_logf(rc_heap *h, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (h->gc.log)
        h->gc.log(line, h->gc.log_arg);
    else
        fprintf(stderr, "%s\n", line);
}

long rc_gc_collect(rc_heap *h, int generation) {
    (void)h;
    if (generation < 0 || generation > 2) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}
