/*
 * alpha.c — a plugin of examples/plugins.c: gadgets.
 *
 * A gadget holds an inbox (a host list) that holds the gadget back: a
 * cycle through a host type and a plugin type, which other plugins join
 * by posting to the inbox. Its finalizer, plugin code, runs in the
 * collection that frees it.
 */
#include "host.h"

#include <stddef.h>

typedef struct gadget {
    void *inbox;           /* a host list */
    void *label;           /* a host text */
    struct gadget *spare;  /* another gadget */
    int id;
} gadget;

static const host_api *host;
static gadget *first;  /* the plugin's own reference */

static void gadget_traverse(void *self, rc_visit_fn visit, void *arg) {
    gadget *g = self;
    RC_VISIT(g->inbox);
    RC_VISIT(g->label);
    RC_VISIT(g->spare);
}

static void gadget_finalize(void *self) {
    gadget *g = self;
    host->say("alpha: gadget %d (%s) finalized", g->id,
              g->label ? host->text_str(g->label) : "?");
}

static const rc_type gadget_type = {
    .name = "alpha.gadget", .size = sizeof(gadget),
    .traverse = gadget_traverse, .finalize = gadget_finalize,
};

static gadget *gadget_new(int id, const char *label) {
    gadget *g = rc_new(host->heap, &gadget_type);
    if (g == NULL)
        return NULL;
    g->id = id;
    g->label = host->text_new(label);
    return g;
}

static int alpha_init(const host_api *api) {
    host = api;
    first = gadget_new(1, "first");
    if (first == NULL)
        return -1;
    first->inbox = host->list_new();
    host->list_append(first->inbox, first);   /* the cycle */
    first->spare = gadget_new(2, "spare");
    host->publish("alpha.gadget", first);
    host->publish("alpha.inbox", first->inbox);
    host->cache("alpha.spare", first->spare);
    gadget *scratch = gadget_new(3, "scratch");
    host->cache("alpha.scratch", scratch);
    rc_decref(scratch);                        /* dies now, and leaves the cache */
    return 0;
}

static void alpha_fini(void) {
    void *note = host->text_new("alpha was here");
    host->donate("alpha.farewell", note);      /* outlives the plugin */
    rc_decref(note);
    RC_CLEAR(first);
}

const plugin_api rcgc_plugin = {.name = "alpha", .init = alpha_init, .fini = alpha_fini};
