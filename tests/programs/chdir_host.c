/* chdir_host.c — loads plugb.so by a relative path, changes directory (as
 * a daemon does once started), then shows the two innermost frames of an
 * object the plugin made (test_tracemalloc_e2e.c's
 * plugin_loaded_by_relative_path). Run from the directory holding it. */
#include <dlfcn.h>
#include <rcgc.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    rc_heap *h = rc_heap_new();
    if (rc_tracemalloc_start(h, 4) != 0)
        return 1;
    void *dl = dlopen("./plugb.so", RTLD_NOW);
    if (dl == NULL || chdir("/") != 0)
        return 2;
    void *(*plugin_alloc)(rc_heap *) = (void *(*)(rc_heap *))dlsym(dl, "plugin_alloc");
    void *b = plugin_alloc(h);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, b);
    for (unsigned i = 0; tb && i < tb->nframe && i < 2; i++)
        printf("%s%s:%u", i ? " " : "", tb->frames[i].filename, tb->frames[i].lineno);
    printf("\n");
    rc_decref(b);
    dlclose(dl);
    return (int)rc_heap_free(h);
}
