/*
 * beta.c — a plugin of examples/plugins.c: widgets.
 *
 * A widget holds a gadget of the alpha plugin and is posted to that
 * gadget's inbox: a cycle through both plugins and the host, which keeps
 * beta's code loaded for as long as alpha keeps the widget.
 */
#include "host.h"

#include <stddef.h>

typedef struct widget {
    void *target;  /* alpha's gadget */
    void *memo;    /* a host text */
} widget;

static const host_api *host;
static widget *mine;  /* the plugin's own reference */

static void widget_traverse(void *self, rc_visit_fn visit, void *arg) {
    widget *w = self;
    RC_VISIT(w->target);
    RC_VISIT(w->memo);
}

static void widget_clear(void *self) {
    widget *w = self;
    RC_CLEAR(w->target);
    RC_CLEAR(w->memo);
}

static void widget_finalize(void *self) {
    widget *w = self;
    host->say("beta: widget finalized, holding <%s>",
              w->target ? rc_type_of(w->target)->name : "nothing");
}

static const rc_type widget_type = {
    .name = "beta.widget", .size = sizeof(widget),
    .traverse = widget_traverse, .clear = widget_clear, .finalize = widget_finalize,
};

static int beta_init(const host_api *api) {
    host = api;
    void *inbox = host->lookup("alpha.inbox");
    if (inbox == NULL)
        return -1;
    mine = rc_new(host->heap, &widget_type);
    if (mine == NULL) {
        rc_decref(inbox);
        return -1;
    }
    mine->target = host->lookup("alpha.gadget");
    mine->memo = host->text_new("posted by beta");
    host->list_append(inbox, mine);
    rc_decref(inbox);
    host->publish("beta.widget", mine);
    return 0;
}

static void beta_fini(void) {
    RC_CLEAR(mine);
}

const plugin_api rcgc_plugin = {.name = "beta", .init = beta_init, .fini = beta_fini};
