/*
 * host.h — what the plugin host (examples/plugins.c) offers its plugins,
 * and what each plugin exports.
 *
 * Every plugin lives in the host's one heap: objects of different heaps
 * may refer to each other, but a cycle through two heaps is never
 * collected, and the plugins here make cycles through each other.
 */
#ifndef PLUGINS_HOST_H
#define PLUGINS_HOST_H

#include <rcgc.h>
#include <stddef.h>

typedef struct host_api {
    rc_heap *heap;
    /* A host list: a tracked object holding strong references. */
    void *(*list_new)(void);                   /* a new reference */
    void (*list_append)(void *list, void *obj);  /* obj borrowed */
    /* A host text: an untracked string object. */
    void *(*text_new)(const char *s);          /* a new reference */
    const char *(*text_str)(const void *text);
    /* The registry: strong references under names, owned by the plugin
     * that published them (dropped when it is unloaded), or by the host
     * (kept: a plugin's parting gift). obj borrowed. */
    void (*publish)(const char *name, void *obj);
    void (*donate)(const char *name, void *obj);
    /* The weak-valued cache: an entry goes when its object dies. */
    void (*cache)(const char *name, void *obj);
    /* A new reference to what the registry or the cache holds under
     * name, or NULL. */
    void *(*lookup)(const char *name);
    /* Prints a line, indented under the host's own. */
    void (*say)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
} host_api;

/* Each plugin exports one of these as `rcgc_plugin`. */
typedef struct plugin_api {
    const char *name;
    int (*init)(const host_api *host);  /* 0 when ready */
    void (*fini)(void);                 /* drops every reference it holds itself */
} plugin_api;

#endif
