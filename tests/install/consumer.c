/* consumer.c — a program that uses an installed rcgc, the way a user would. */
#include <rcgc.h>

#include <stdio.h>
#include <string.h>

typedef struct pair { struct pair *next; int value; } pair;

static void pair_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit((void **)&((pair *)self)->next, arg);
}

static const rc_type pair_type = {.name = "pair", .size = sizeof(pair),
                                  .traverse = pair_traverse};

int main(void) {
    if (strcmp(rc_version(), RC_VERSION_STRING) != 0) {
        fprintf(stderr, "rc_version() %s, header %s\n", rc_version(), RC_VERSION_STRING);
        return 1;
    }
    rc_heap *h = rc_heap_new();
    if (h == NULL)
        return 1;
    pair *a = rc_new(h, &pair_type);
    a->next = rc_new(h, &pair_type);
    a->next->value = 42;
    size_t count = rc_refcount(a->next);
    RC_CLEAR(a);
    size_t leaks = rc_heap_free(h);
    printf("rcgc %s: count %zu, leaks %zu\n", rc_version(), count, leaks);
    return count == 1 && leaks == 0 ? 0 : 1;
}
