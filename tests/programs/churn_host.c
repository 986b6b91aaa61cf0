/* churn_host.c — loads plugb.so, allocates through it, takes a snapshot
 * and unloads it, 40 times, tracing at nframe 8. Each round changes what
 * is loaded, so each snapshot's resolution starts over; the resolver used
 * to keep every replaced view of the process (its files open, about 17 MB
 * each with libc's debug information). Prints whether the open files and
 * the resident memory stayed as they were after the first round. */
#include <dirent.h>
#include <dlfcn.h>
#include <rcgc.h>
#include <stdio.h>
#include <string.h>

static int open_files(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

static long resident_kb(void) {
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            sscanf(line + 6, "%ld", &kb);
    if (f)
        fclose(f);
    return kb;
}

typedef void *(*alloc_fn)(rc_heap *);

int main(void) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 8);
    int files = 0;
    long rss = 0;
    for (int round = 0; round < 40; round++) {
        void *plugin = dlopen("./plugb.so", RTLD_NOW);
        if (plugin == NULL)
            return 2;
        void *obj = ((alloc_fn)dlsym(plugin, "plugin_alloc"))(h);
        rc_snapshot_free(rc_tracemalloc_take_snapshot(h));
        rc_decref(obj);
        dlclose(plugin);
        rc_tracemalloc_clear_traces(h);
        if (round == 0) {
            files = open_files();
            rss = resident_kb();
        }
    }
    printf("open files %s, resident memory %s\n", open_files() == files ? "same" : "grew",
           resident_kb() - rss < 8 * 1024 ? "within 8 MB" : "grew");
    return (int)rc_heap_free(h);
}
