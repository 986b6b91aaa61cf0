/*
 * scene.c — a scene graph on rcgc: the kind of C program rcgc is for.
 *
 * A 3D scene is a tree of nodes. Each node owns its children (a growable
 * array) and holds a strong reference to its parent, so every link is a
 * cycle; nodes share meshes and textures that an asset cache keeps loaded.
 * Over a few frames the program builds a level, deletes parts of it and
 * plants more, and shows what rcgc does meanwhile:
 *
 *   - a deleted leaf dies at once, by reference counting alone;
 *   - a deleted subtree is kept alive by its own back pointers until the
 *     cycle collector runs; a texture caught in that cycle is finalized
 *     once (PEP 442), while what it refers to is still intact;
 *   - an inspector watches nodes through weak references, which keep
 *     nothing alive, and learns of their deaths from the callbacks;
 *   - gc callbacks bracket each collection, and tracemalloc shows, line by
 *     line, how the memory changed between two frames.
 */
#include "rcgc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct node node;

typedef struct vertex { float x, y, z; } vertex; /* one point of a mesh */

/* Geometry shared by many nodes. A mesh refers to no rc object, so its
 * type has no traverse: meshes are never tracked by the collector. */
typedef struct mesh {
    char name[16];
    vertex *vertices; /* rc_calloc'ed; freed by release */
    size_t nvertices;
} mesh;

/* A texture on the GPU; `handle` stands for the driver's name for it (0:
 * none yet). An image keeps a CPU copy of its pixels; a render target refers
 * instead to the camera node drawing into it, which can make a cycle. */
typedef struct texture {
    char name[16];
    node *source;     /* strong; render targets only */
    uint32_t *pixels; /* RGBA, rc_calloc'ed, images only; freed by release */
    unsigned handle, width, height;
} texture;

/* A scene node. Each child holds its parent as strongly as Python's
 * `self.parent = parent` would, so every link is a cycle. */
struct node {
    char name[16];
    node *parent;     /* strong; NULL for a root or a detached node */
    node **children;  /* strong references, rc_realloc'ed; freed by release */
    size_t nchildren, capacity;
    mesh *mesh;       /* strong, shared; may be NULL */
    texture *texture; /* strong, shared; may be NULL */
};

/* The demo's answer to running out of memory: say so and stop. */
static void *must(void *p) {
    if (p == NULL) {
        perror("scene");
        exit(1);
    }
    return p;
}

/* ----------------------------------------------------------------- meshes */

/* Frees the vertices, the one thing a mesh owns that is not an rc object. */
static void mesh_release(void *self) {
    mesh *m = self;
    rc_free(rc_heap_of(m), m->vertices);
}

static const rc_type mesh_type = {.name = "mesh", .size = sizeof(mesh), .release = mesh_release};

/* A new reference to a mesh of nvertices zeroed vertices (a loader would
 * fill them), or NULL + errno. */
static mesh *mesh_new(rc_heap *h, const char *name, size_t nvertices) {
    mesh *m = rc_new(h, &mesh_type);
    if (m == NULL)
        return NULL;
    snprintf(m->name, sizeof m->name, "%s", name);
    m->vertices = rc_calloc(h, nvertices, sizeof *m->vertices);
    if (m->vertices == NULL) {
        rc_decref(m);
        return NULL;
    }
    m->nvertices = nvertices;
    return m;
}

/* --------------------------------------------------------------- textures */

static unsigned next_gpu_handle = 1; /* what glGenTextures would hand out */

/* Visits the one reference a texture can hold: its source camera. */
static void texture_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit((void **)&((texture *)self)->source, arg);
}

/* Drops the source camera: when the texture dies, or to break a cycle. */
static void texture_clear(void *self) { RC_CLEAR(((texture *)self)->source); }

/* Gives the GPU its memory back. PEP 442: this runs once, before the
 * texture's references are dropped, even when it dies in a cycle, so the
 * source camera can still be read here. */
static void texture_finalize(void *self) {
    texture *t = self;
    if (t->handle == 0)
        return;
    printf("  gpu: release handle %u ('%s', %ux%u", t->handle, t->name, t->width, t->height);
    if (t->source)
        printf(", rendered by '%s'", t->source->name);
    printf(")\n");
}

/* Frees the CPU copy of the pixels, after the references were dropped. */
static void texture_release(void *self) {
    texture *t = self;
    rc_free(rc_heap_of(t), t->pixels);
}

static const rc_type texture_type = {
    .name = "texture", .size = sizeof(texture), .traverse = texture_traverse,
    .clear = texture_clear, .finalize = texture_finalize, .release = texture_release,
};

/* A new reference to a width x height texture, or NULL + errno. With
 * source NULL it is an image with a CPU copy of its pixels; otherwise a
 * render target holding a reference to the camera node source (borrowed). */
static texture *texture_new(rc_heap *h, const char *name, unsigned width, unsigned height,
                            node *source) {
    texture *t = rc_new(h, &texture_type);
    if (t == NULL)
        return NULL;
    snprintf(t->name, sizeof t->name, "%s", name);
    if (source == NULL) {
        t->pixels = rc_calloc(h, (size_t)width * height, sizeof *t->pixels);
        if (t->pixels == NULL) {
            rc_decref(t);
            return NULL;
        }
    }
    t->source = rc_incref(source);
    t->width = width;
    t->height = height;
    t->handle = next_gpu_handle++;
    return t;
}

/* ------------------------------------------------------------------ nodes */

/* Visits every strong reference: parent, children, mesh and texture. */
static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    visit((void **)&n->parent, arg);
    for (size_t i = 0; i < n->nchildren; i++)
        visit((void **)&n->children[i], arg);
    visit((void **)&n->mesh, arg);
    visit((void **)&n->texture, arg);
}

/* Drops every reference, when the node dies or when the collector breaks
 * a cycle through it. Each slot is emptied before its reference goes, so
 * code that a death runs never finds a dangling pointer here. */
static void node_clear(void *self) {
    node *n = self;
    while (n->nchildren > 0)
        rc_decref(n->children[--n->nchildren]);
    RC_CLEAR(n->parent);
    RC_CLEAR(n->mesh);
    RC_CLEAR(n->texture);
}

/* Frees the child array; clear has emptied it already. */
static void node_release(void *self) {
    node *n = self;
    rc_free(rc_heap_of(n), n->children);
}

static const rc_type node_type = {
    .name = "node", .size = sizeof(node), .traverse = node_traverse,
    .clear = node_clear, .release = node_release,
};

/* A new reference to a parentless node showing mesh with texture (both
 * borrowed, either may be NULL), or NULL + errno. */
static node *node_new(rc_heap *h, const char *name, mesh *m, texture *t) {
    node *n = rc_new(h, &node_type);
    if (n == NULL)
        return NULL;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->mesh = rc_incref(m);
    n->texture = rc_incref(t);
    return n;
}

/* Makes child (borrowed, parentless) the last child of parent: the parent
 * takes a reference to the child and the child one to the parent. 0, or
 * -1 + ENOMEM with nothing changed. */
static int node_append(node *parent, node *child) {
    if (parent->nchildren == parent->capacity) {
        size_t capacity = parent->capacity ? 2 * parent->capacity : 4;
        node **children =
            rc_realloc(rc_heap_of(parent), parent->children, capacity * sizeof *children);
        if (children == NULL)
            return -1;
        parent->children = children;
        parent->capacity = capacity;
    }
    parent->children[parent->nchildren++] = rc_incref(child);
    child->parent = rc_incref(parent);
    return 0;
}

/* A new last child of parent, borrowed (the parent owns it); NULL + errno. */
static node *add_child(node *parent, const char *name, mesh *m, texture *t) {
    node *child = node_new(rc_heap_of(parent), name, m, t);
    if (child == NULL)
        return NULL;
    int status = node_append(parent, child);
    rc_decref(child);
    return status == 0 ? child : NULL;
}

/* Unlinks child from its parent (it must have one) and drops its back
 * pointer. Returns the parent's reference to the child: a new reference
 * for the caller. */
static node *node_detach(node *child) {
    node *parent = child->parent;
    size_t i = 0;
    while (parent->children[i] != child)
        i++;
    memmove(&parent->children[i], &parent->children[i + 1],
            (parent->nchildren - i - 1) * sizeof *parent->children);
    parent->nchildren--;
    RC_CLEAR(child->parent);
    return child;
}

/* The first node named name under root, depth first (borrowed), or NULL. */
static node *node_find(node *root, const char *name) {
    if (strcmp(root->name, name) == 0)
        return root;
    for (size_t i = 0; i < root->nchildren; i++) {
        node *found = node_find(root->children[i], name);
        if (found)
            return found;
    }
    return NULL;
}

/* Prints the subtree of n, one node a line, indented by depth. */
static void print_tree(const node *n, int depth) {
    printf("  %*s%s", 2 * depth, "", n->name);
    if (n->mesh || n->texture)
        printf(" [mesh %s, texture %s]", n->mesh ? n->mesh->name : "-",
               n->texture ? n->texture->name : "-");
    printf("\n");
    for (size_t i = 0; i < n->nchildren; i++)
        print_tree(n->children[i], depth + 1);
}

/* ----------------------------------------------------------------- assets */

/* The asset cache: a reference to each shared mesh and texture, so that
 * they stay loaded while no node uses them, and are unloaded in a known
 * order at shutdown. */
typedef struct assets {
    mesh *quad, *box, *pine;
    texture *grass, *brick, *bark;
} assets;

/* Loads what the first level needs; the forest's assets come later. */
static void load_assets(rc_heap *h, assets *a) {
    a->quad = must(mesh_new(h, "quad", 4));
    a->box = must(mesh_new(h, "box", 24));
    a->grass = must(texture_new(h, "grass", 32, 32, NULL));
    a->brick = must(texture_new(h, "brick", 16, 16, NULL));
}

/* Drops the cache's references, meshes first, then textures. */
static void unload_assets(assets *a) {
    RC_CLEAR(a->quad);
    RC_CLEAR(a->box);
    RC_CLEAR(a->pine);
    RC_CLEAR(a->grass);
    RC_CLEAR(a->brick);
    RC_CLEAR(a->bark);
}

/* ---------------------------------------------------- the inspector panel */

/* One watched node: the inspector copies its name, as the node may die. */
typedef struct watch {
    char name[16];
    rc_weakref *ref; /* a strong reference to a weak reference */
} watch;

/* An editor panel showing some nodes, which it must not keep alive. */
typedef struct inspector {
    watch watches[4];
    size_t count;
} inspector;

/* Weak reference callback: a watched node died (arg is its watch). The
 * weak reference was cleared before the callback runs. */
static void on_node_death(rc_weakref *ref, void *arg) {
    const watch *w = arg;
    void *target = rc_weakref_get(ref);
    printf("  inspector: '%s' died; its weak reference gives %s\n", w->name,
           target ? "a node" : "NULL");
    rc_decref(target);
}

/* Starts watching n (borrowed) without taking a reference to it; a full
 * panel (4 nodes) ignores more. */
static void inspector_watch(inspector *ins, node *n) {
    if (ins->count == sizeof ins->watches / sizeof ins->watches[0])
        return;
    watch *w = &ins->watches[ins->count++];
    snprintf(w->name, sizeof w->name, "%s", n->name);
    w->ref = must(rc_weakref_new(n, on_node_death, w));
}

/* Prints each watched node that is still alive, or that it is gone. */
static void inspector_show(const inspector *ins) {
    printf("  inspector:");
    for (size_t i = 0; i < ins->count; i++) {
        node *n = rc_weakref_get(ins->watches[i].ref);
        printf(" %s (%s)", ins->watches[i].name, n ? "alive" : "gone");
        rc_decref(n);
    }
    printf("\n");
}

/* Closes the panel: drops the weak references. */
static void inspector_close(inspector *ins) {
    while (ins->count > 0)
        RC_CLEAR(ins->watches[--ins->count].ref);
}

/* -------------------------------------------------- the garbage collector */

/* gc callback: brackets each collection, as gc.callbacks does in Python. */
static void on_gc(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h;
    (void)arg;
    if (strcmp(phase, "start") == 0)
        printf("  [gc] start: generation %d\n", info->generation);
    else
        printf("  [gc] stop: generation %d, %zu collected, %zu uncollectable\n",
               info->generation, info->collected, info->uncollectable);
}

/* ------------------------------------------------------------ tracemalloc */

/* Prints the first `limit` lines of now.compare_to(before, 'lineno'). */
static void print_top_differences(const rc_snapshot *now, const rc_snapshot *before,
                                  size_t limit) {
    size_t count;
    rc_statistic_diff *diffs =
        must(rc_snapshot_compare_to(now, before, RC_KEY_LINENO, false, &count));
    printf("[ Top %zu differences ]\n", limit);
    char line[512];
    for (size_t i = 0; i < count && i < limit; i++) {
        rc_statistic_diff_format(&diffs[i], line, sizeof line);
        printf("%s\n", line);
    }
    free(diffs);
}

/* A new snapshot (the caller frees it); says what it holds. */
static rc_snapshot *snapshot(rc_heap *h, const char *label) {
    rc_snapshot *s = must(rc_tracemalloc_take_snapshot(h));
    size_t current;
    rc_tracemalloc_get_traced_memory(h, &current, NULL);
    printf("  tracemalloc: %s: %zu allocations, %zu bytes\n", label,
           rc_snapshot_trace_count(s), current);
    return s;
}

/* ----------------------------------------------------------------- frames */

/* Frame 1: the level. The mirror shows what its own camera sees: mirror ->
 * render target -> camera -> (parent) mirror is a cycle through a texture. */
static node *build_level(rc_heap *h, const assets *a) {
    node *world = must(node_new(h, "world", NULL, NULL));
    must(add_child(world, "camera", NULL, NULL));
    must(add_child(world, "terrain", a->quad, a->grass));
    texture *glow = must(texture_new(h, "lamp-glow", 8, 8, NULL));
    must(add_child(world, "lamp", a->quad, glow));
    rc_decref(glow); /* the lamp holds it now */
    node *house = must(add_child(world, "house", a->box, a->brick));
    must(add_child(house, "roof", a->box, a->brick));
    must(add_child(house, "door", a->quad, a->brick));
    node *mirror = must(add_child(house, "mirror", a->quad, NULL));
    node *eye = must(add_child(mirror, "mirror-cam", NULL, NULL));
    mirror->texture = must(texture_new(h, "mirror-rt", 32, 32, eye));
    return world;
}

/* Frame 2: a leaf is deleted. Detaching drops its only back pointer, so
 * it is in no cycle and dies inside rc_decref. */
static void delete_lamp(node *world) {
    printf("\n== frame 2: delete the lamp (a leaf)\n");
    node *lamp = node_detach(node_find(world, "lamp"));
    printf("  rc_decref(lamp), refcount %zu:\n", rc_refcount(lamp));
    rc_decref(lamp);
    printf("  rc_decref returned: the lamp and its texture are gone\n");
}

/* Frame 3: a subtree is deleted. Its children still point back at it, so
 * it outlives our reference until the end-of-frame collection. */
static void delete_house(node *world, const inspector *ins) {
    printf("\n== frame 3: delete the house (roof, door, mirror, mirror-cam)\n");
    node *house = node_detach(node_find(world, "house"));
    printf("  rc_decref(house), refcount %zu: ours and 3 children's back pointers\n",
           rc_refcount(house));
    rc_decref(house);
    inspector_show(ins);
    printf("  end of frame: rc_gc_collect(h, 0)\n");
    long found = rc_gc_collect(rc_heap_of(world), 0);
    printf("  rc_gc_collect: %ld unreachable (5 nodes and the mirror's render target)\n", found);
}

/* Frame 4: nine pines, all sharing one mesh and one texture, which the
 * cache loads now that they are first needed. */
static void plant_forest(node *world, assets *a) {
    printf("\n== frame 4: plant a forest\n");
    a->pine = must(mesh_new(rc_heap_of(world), "pine", 36));
    a->bark = must(texture_new(rc_heap_of(world), "bark", 16, 16, NULL));
    node *forest = must(add_child(world, "forest", NULL, NULL));
    for (int i = 1; i <= 9; i++) {
        char name[16];
        snprintf(name, sizeof name, "pine-%d", i);
        must(add_child(forest, name, a->pine, a->bark));
    }
    printf("  mesh 'pine' (%zu vertices): refcount %zu (9 pines and the cache), tracked %d\n",
           a->pine->nvertices, rc_refcount(a->pine), rc_gc_is_tracked(a->pine));
}

/* Shutdown: the scene is all cycles, so dropping the root frees nothing
 * until a full collection; the cache then unloads the textures in order. */
static void shut_down(rc_heap *h, node *world, assets *a) {
    printf("\n== shutdown\n");
    rc_decref(world);
    long found = rc_gc_collect(h, 2);
    printf("  rc_gc_collect: %ld unreachable (world, camera, terrain, forest, 9 pines)\n", found);
    unload_assets(a);
    rc_gc_stats stats[RC_GC_GENERATIONS]; /* gc.get_stats() */
    rc_gc_get_stats(h, stats);
    for (int g = 0; g < RC_GC_GENERATIONS; g++)
        printf("  generation %d: %zu collections, %zu collected, %zu uncollectable\n", g,
               stats[g].collections, stats[g].collected, stats[g].uncollectable);
}

int main(void) {
    rc_heap *h = must(rc_heap_new());
    if (rc_tracemalloc_start(h, 1) != 0 || rc_gc_callback_add(h, on_gc, NULL) != 0) {
        perror("scene");
        return 1;
    }
    printf("== frame 1: load assets, build the level\n");
    assets a = {0};
    load_assets(h, &a);
    node *world = build_level(h, &a);
    print_tree(world, 0);
    printf("  mesh 'quad': refcount %zu (4 nodes and the cache), tracked %d\n",
           rc_refcount(a.quad), rc_gc_is_tracked(a.quad));
    printf("  texture 'brick': refcount %zu (3 nodes and the cache), tracked %d\n",
           rc_refcount(a.brick), rc_gc_is_tracked(a.brick));
    printf("  sizes: node %zu, mesh %zu, texture %zu, vertex %zu, pixel %zu bytes\n",
           sizeof(node), sizeof(mesh), sizeof(texture), sizeof(vertex), sizeof(uint32_t));
    rc_snapshot *level = snapshot(h, "after frame 1");

    inspector ins = {.count = 0};
    inspector_watch(&ins, node_find(world, "camera"));
    inspector_watch(&ins, node_find(world, "lamp"));
    inspector_watch(&ins, node_find(world, "house"));
    delete_lamp(world);
    delete_house(world, &ins);
    plant_forest(world, &a);
    inspector_show(&ins);
    inspector_close(&ins);

    rc_snapshot *forest = snapshot(h, "after frame 4");
    print_top_differences(forest, level, 10);
    rc_snapshot_free(forest);
    rc_snapshot_free(level);

    shut_down(h, world, &a);
    rc_gc_callback_remove(h, on_gc, NULL);
    size_t leaked = rc_heap_free(h);
    printf("\nrc_heap_free: %zu objects leaked\n", leaked);
    return leaked == 0 ? 0 : 1;
}
