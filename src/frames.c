/*
 * frames.c — native stacks for tracemalloc: walking them by frame pointers,
 * recognising the library's own frames, and turning return addresses into
 * file:line (DWARF through elfutils' libdwfl), a function name, or
 * binary+0xOFFSET.
 *
 * Why frame pointers: the walk runs on every traced allocation, so it must
 * cost a few loads per frame; rcgc is built with -fno-omit-frame-pointer,
 * and so are programs built at -O0 or with that flag. A CFI unwinder
 * (libunwind) is correct through code without frame pointers but costs
 * about ten times more per frame. The walk never faults: it only follows
 * frame records that lie above the previous one inside the thread's stack.
 *
 * Resolution is lazy (snapshot time) and cached per return address, so a
 * program pays for DWARF once per distinct call site, not per allocation.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef RCGC_HAVE_LIBDW
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#endif

/* ------------------------------------------------ the library's own code */

/* Address ranges of librcgc's machine code, found once per process (by the
 * first tracer start that gets the memory and the file descriptors it
 * needs; walks come after it): the
 * executable segments of librcgc.so, or, when the static library is linked
 * into the program or into another shared object, the ranges of the
 * compilation units from its source directory that define its functions
 * (DWARF; a program may build rcgc's sources beside its own), or failing that the
 * span of its rc_* functions (symbol table; read from the file without
 * libdw). A stripped object linked with the static library has none. */
#define RC_MAX_RANGES 1024 /* compilation units x their ranges; merged when sorted */
static struct { uintptr_t lo, hi; } lib_ranges[RC_MAX_RANGES];
static unsigned lib_nranges;
static atomic_bool lib_found;
#ifdef RCGC_HAVE_LIBDW
/* When the library's sources were built into the program with link-time
 * optimization, its functions may be inlined into the program's: the
 * directory of its units (as library_unit reads it, dirlen bytes) tells
 * their inlined instances, whose frames are dropped as its own are. Set
 * with lib_ranges when they come from DWARF. */
static struct { char dir[512]; size_t dirlen; bool known; } lib_units;
#endif
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

/* Set (to EMFILE or ENFILE) when a file could not be opened for want of
 * file descriptors, the process's or the system's; the library search and
 * each resolution clear it first and fail when it is set at their end, as
 * when memory runs short, rather than keep an answer made without the file
 * (the library's frames shown in every traceback, "file+0xOFFSET" for a
 * function with a name): the next one tries again. */
static __thread int fds_short;

/* Whether err is such a shortage (or of memory): what failed for it is
 * kept nowhere. */
static bool short_of(int err) { return err == ENOMEM || err == EMFILE || err == ENFILE; }

/* open(path) for reading; a failure for want of descriptors is noted in
 * fds_short. */
static int open_ro(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE))
        fds_short = errno;
    return fd;
}

/* Whether `want` more bytes fit under a limit, `used` in use. */
static bool fits(size_t used, rlim_t limit, size_t want) {
    return limit == RLIM_INFINITY || (used < limit && want <= limit - used);
}

/* Whether `want` more bytes of memory may be mapped under RLIMIT_AS and
 * RLIMIT_DATA, from what /proc says is mapped now (statm: the whole, and
 * data with stack); `unknown` when it cannot be read. */
static bool memory_left(size_t want, bool unknown) {
    struct rlimit space, data;
    getrlimit(RLIMIT_AS, &space);
    getrlimit(RLIMIT_DATA, &data);
    if (space.rlim_cur == RLIM_INFINITY && data.rlim_cur == RLIM_INFINITY)
        return true;
    char text[128];
    int fd = open_ro("/proc/self/statm");
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    unsigned long long pages[6];
    if (n <= 0)
        return unknown;
    text[n] = '\0';
    if (sscanf(text, "%llu %llu %llu %llu %llu %llu", &pages[0], &pages[1], &pages[2], &pages[3],
               &pages[4], &pages[5]) != 6)
        return unknown;
    size_t page = (size_t)getpagesize();
    return fits((size_t)pages[0] * page, space.rlim_cur, want) &&
           fits((size_t)pages[5] * page, data.rlim_cur, want);
}

static void add_range(uintptr_t lo, uintptr_t hi) {
    if (lo < hi && lib_nranges < RC_MAX_RANGES) {
        lib_ranges[lib_nranges].lo = lo;
        lib_ranges[lib_nranges].hi = hi;
        lib_nranges++;
    }
}

/* Whether the ELF file open on fd has the entry point and the number of
 * program headers of the program (info). */
static bool is_program_file(int fd, const struct dl_phdr_info *info) {
    ElfW(Ehdr) eh;
    return pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
           memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_phnum == info->dlpi_phnum &&
           info->dlpi_addr + eh.e_entry == getauxval(AT_ENTRY);
}

/* The program's file without /proc (a chroot or a sandbox may have none),
 * or when /proc/self/exe is the dynamic linker run as a command (`ld.so
 * ./prog`, which sets AT_EXECFN and AT_ENTRY to the program's): the path
 * it was started by (AT_EXECFN) into buf, when that file is the program
 * (is_program_file: a relative path after a chdir may name another file);
 * else NULL. */
static const char *program_file(const struct dl_phdr_info *info, char *buf, size_t len) {
    const char *path = (const char *)getauxval(AT_EXECFN);
    if (path == NULL || strlen(path) >= len)
        return NULL;
    int fd = open_ro(path);
    bool same = fd >= 0 && is_program_file(fd, info);
    if (fd >= 0)
        close(fd);
    if (!same)
        return NULL;
    memcpy(buf, path, strlen(path) + 1);
    return buf;
}

/* What /proc/self/maps says of the mapping of an address: its file's
 * path (NULL: none, or deleted since, or too long for the caller's
 * buffer), device and inode (0 when anonymous or not found). */
typedef struct mapping {
    const char *path;
    dev_t dev;
    ino_t ino;
} mapping;

/* Whether the line of /proc/self/maps ("start-end perms offset dev inode
 * path") maps addr; if so, what it says into *m, the path copied into buf. */
static bool maps_line_holds(char *line, uintptr_t addr, char *buf, size_t len, mapping *m) {
    char *p;
    uintptr_t lo = strtoul(line, &p, 16), hi = *p == '-' ? strtoul(p + 1, &p, 16) : 0;
    if (addr < lo || addr >= hi)
        return false;
    p += strspn(p, " ");
    p += strcspn(p, " "); /* perms */
    (void)strtoul(p, &p, 16); /* offset */
    unsigned long major = strtoul(p, &p, 16), minor = *p == ':' ? strtoul(p + 1, &p, 16) : 0;
    m->dev = makedev(major, minor);
    m->ino = (ino_t)strtoull(p, NULL, 10);
    const char *path = strchr(line, '/');
    size_t n = path ? strlen(path) : 0;
    if (n && n < len && !(n > 10 && strcmp(path + n - 10, " (deleted)") == 0))
        m->path = memcpy(buf, path, n + 1);
    return true;
}

/* What /proc/self/maps says of the mapping of addr (see mapping), its path
 * into buf (len 0: not wanted). Read with read(2) in a small chunk: no
 * malloc under the loader's lock, little stack; a line longer than the
 * chunk is not read. Not open_ro: descriptors short, the callers do
 * without (fds_short is for the files they must read). */
static mapping mapping_of(uintptr_t addr, char *buf, size_t len) {
    mapping m = {NULL, 0, 0};
    int saved = errno, fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    errno = saved;
    if (fd < 0)
        return m;
    char chunk[1024];
    size_t have = 0;
    bool skipping = false, done = false; /* skipping: the rest of a long line */
    while (!done) {
        ssize_t got = read(fd, chunk + have, sizeof chunk - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
        char *line = chunk, *end;
        while (!done && (end = memchr(line, '\n', have - (size_t)(line - chunk))) != NULL) {
            *end = '\0';
            done = !skipping && maps_line_holds(line, addr, buf, len, &m);
            skipping = false;
            line = end + 1;
        }
        have -= (size_t)(line - chunk);
        memmove(chunk, line, have);
        if (have == sizeof chunk) { /* no end in sight: the line is dropped */
            skipping = true;
            have = 0;
        }
    }
    close(fd);
    errno = saved;
    return m;
}

/* The first loaded address of info's object. */
static uintptr_t first_loaded(const struct dl_phdr_info *info) {
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD)
            return info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
    return 0;
}

/* The file of info's object: its name (a relative one, as a dlopen of
 * "./plugin.so" leaves, made absolute from /proc/self/maps into buf: the
 * program may have changed directory since), or for the program (no
 * name) its path read from /proc into buf (or program_file's); NULL when
 * unknown. Whether /proc/self/exe is the program is asked once (1 yes, 2
 * no). */
static const char *object_path(const struct dl_phdr_info *info, char *buf, size_t len) {
    static atomic_int exe_is_program;
    if (info->dlpi_name && info->dlpi_name[0] == '/')
        return info->dlpi_name;
    if (info->dlpi_name && info->dlpi_name[0]) {
        const char *path = mapping_of(first_loaded(info), buf, len).path;
        return path ? path : info->dlpi_name;
    }
    int known = atomic_load_explicit(&exe_is_program, memory_order_relaxed);
    if (known == 0) {
        int fd = open_ro("/proc/self/exe");
        if (fd >= 0) {
            known = is_program_file(fd, info) ? 1 : 2;
            close(fd);
            atomic_store_explicit(&exe_is_program, known, memory_order_relaxed);
        }
    }
    ssize_t n = known == 2 ? -1 : readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0)
        return program_file(info, buf, len);
    buf[n] = '\0';
    return buf;
}

typedef struct self_object {
    uintptr_t self;
    bool found, linked;
    uintptr_t bias;  /* the linked object's load bias */
    char path[4096]; /* its file ("" when unknown) */
} self_object;

/* dl_iterate_phdr callback: when info is the object holding self, records
 * its executable segments if it is librcgc.so; otherwise the library is
 * linked into it (linked). */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg) {
    self_object *so = arg;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    bool shared = strncmp(base, "librcgc.so", 10) == 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && so->self >= lo && so->self < lo + ph->p_memsz) {
            so->found = true;
            so->linked = !shared;
            so->bias = info->dlpi_addr;
            const char *path = object_path(info, so->path, sizeof so->path);
            if (path != so->path)
                snprintf(so->path, sizeof so->path, "%s", path ? path : "");
            if (shared)
                for (int j = 0; j < info->dlpi_phnum; j++) {
                    const ElfW(Phdr) *x = &info->dlpi_phdr[j];
                    if (x->p_type == PT_LOAD && (x->p_flags & PF_X))
                        add_range(info->dlpi_addr + x->p_vaddr,
                                  info->dlpi_addr + x->p_vaddr + x->p_memsz);
                }
            return 1;
        }
    }
    return 0;
}

/* Widens [*lo, *hi) by a symbol of the library's own functions: an rc_*
 * function, not a part of one (".cold", which lives in another section,
 * among the program's). The archive's members are linked together, so the
 * span of those holds its static functions too. */
static void widen_by_symbol(uintptr_t *lo, uintptr_t *hi, const char *name, unsigned type,
                            uintptr_t addr, size_t size) {
    if (type != STT_FUNC || strncmp(name, "rc_", 3) != 0 || strchr(name, '.') != NULL)
        return;
    *lo = addr < *lo ? addr : *lo;
    *hi = addr + size > *hi ? addr + size : *hi;
}

#ifdef RCGC_HAVE_LIBDW
/* libdw takes its own records (__libdw_allocate) from malloc, and when it
 * fails calls the Dwarf's out-of-memory handler, which must not return:
 * the default one exits the program ("libdw: Cannot allocate memory"), a
 * snapshot taken near the process's `ulimit -v`. Every Dwarf the library
 * reads gets libdw_out_of_memory instead (module_dwarf), which jumps back
 * out of the call into libdw the thread is in (libdw_guarded): that call
 * fails with ENOMEM, and its caller ends the Dwfl, which the jump left
 * half-made, unused again. libdw releases its locks before the handler; it
 * loses what it had allocated for the call, as may the library (a unit
 * index, scopes: kilobytes, when memory has run out). The split DWARF
 * files of units (.dwo), which libdw opens itself, keep the default. */
static __thread jmp_buf *libdw_escape;

__attribute__((noreturn)) static void libdw_out_of_memory(void) {
    longjmp(*libdw_escape, 1);
}

/* The memory a call into libdw may want: where a process's RLIMIT_AS or
 * RLIMIT_DATA leaves less, elfutils 0.188 failed an assertion in its hash
 * tables (SIGABRT) in a third of the starts made with 1 to 4 MiB left (a
 * program of 870 KB), and reading libc's debug information maps 17 MB. */
#define LIBDW_ROOM ((size_t)64 << 20)

/* Runs fn(arg), a call into libdw: its result, or false + ENOMEM when libdw
 * ran out of memory on the way, or when RLIMIT_AS or RLIMIT_DATA leaves it
 * less than LIBDW_ROOM (fn is not called; when /proc cannot tell, it is). */
static bool libdw_guarded(bool (*fn)(void *), void *arg) {
    if (!memory_left(LIBDW_ROOM, true)) {
        errno = ENOMEM;
        return false;
    }
    jmp_buf escape, *outer = libdw_escape;
    bool ok;
    libdw_escape = &escape;
    if (setjmp(escape) == 0) {
        ok = fn(arg);
    } else {
        ok = false;
        errno = ENOMEM;
    }
    libdw_escape = outer;
    return ok;
}

/* Reads mod's DWARF, if any, and gives it and its supplementary file's
 * (dwz) libdw_out_of_memory; false + ENOMEM when memory ran short for
 * either (as errno tells: libdwfl would remember the module without them).
 * Called under libdw_guarded before anything else reads mod's DWARF. */
static bool module_dwarf(Dwfl_Module *mod) {
    Dwarf_Addr bias;
    errno = 0;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    if (dw == NULL)
        return errno != ENOMEM;
    (void)dwarf_new_oom_handler(dw, libdw_out_of_memory);
    errno = 0;
    Dwarf *alt = dwarf_getalt(dw);
    if (alt == NULL)
        return errno != ENOMEM;
    (void)dwarf_new_oom_handler(alt, libdw_out_of_memory);
    return true;
}

/* The CRC-32 of fd's whole file, as .gnu_debuglink records it (zlib's,
 * the reflected 0xEDB88320 polynomial); false when it cannot be read. */
static bool file_crc32(int fd, uint32_t *out) {
    uint32_t table[256], crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
        table[i] = c;
    }
    unsigned char buf[16384];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            crc = table[(crc ^ buf[i]) & 0xFF] ^ (crc >> 8);
    *out = ~crc;
    return n == 0;
}

/* Whether the ELF file fd has the GNU build ID want (n bytes). */
static bool file_has_build_id(int fd, const void *want, size_t n) {
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    const void *got = NULL;
    bool same = elf && dwelf_elf_gnu_build_id(elf, &got) == (ssize_t)n && memcmp(got, want, n) == 0;
    elf_end(elf);
    return same;
}

/* Whether fd is the debug file of mod, as libdwfl validates one: the same
 * build ID when mod has one, else the CRC its .gnu_debuglink recorded
 * (none: no match). */
static bool debug_file_of(Dwfl_Module *mod, int fd, const char *link, GElf_Word crc) {
    const unsigned char *want;
    GElf_Addr vaddr;
    int n = dwfl_module_build_id(mod, &want, &vaddr);
    if (n > 0)
        return file_has_build_id(fd, want, (size_t)n);
    uint32_t sum;
    return link && file_crc32(fd, &sum) && sum == crc && lseek(fd, 0, SEEK_SET) == 0;
}

/* mod's debug file on this machine by name: the one its .gnu_debuglink
 * names (link), or without one its file's name + ".debug", beside
 * file_name, in its .debug directory, or under /usr/lib/debug at its
 * directory (GDB's and libdwfl's places), the first debug_file_of mod; its
 * fd (its path, a malloc'ed copy, in *found), or -1. */
static int find_by_debuglink(Dwfl_Module *mod, const char *file_name, const char *link,
                             GElf_Word crc, char **found) {
    const char *slash = strrchr(file_name, '/'), *dir = slash ? file_name : ".";
    int dirlen = slash ? (int)(slash - file_name) : 1;
    char name[256];
    if (link == NULL && snprintf(name, sizeof name, "%s.debug", slash ? slash + 1 : file_name) <
                            (int)sizeof name)
        link = name;
    if (link == NULL || strchr(link, '/'))
        return -1;
    static const char *const places[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        char path[4096];
        int len = snprintf(path, sizeof path, places[i], dirlen, dir, link);
        if (len < 0 || (size_t)len >= sizeof path || strcmp(path, file_name) == 0)
            continue;
        int fd = open_ro(path);
        if (fd < 0)
            continue;
        if (debug_file_of(mod, fd, link == name ? NULL : link, crc) &&
            (*found = strdup(path)) != NULL)
            return fd;
        close(fd);
    }
    return -1;
}

/* A standard search for a module's separate debug information on this
 * machine: by build ID (dwfl_build_id_find_debuginfo: /usr/lib/debug/
 * .build-id/), else by name (find_by_debuglink).
 * Not dwfl_standard_find_debuginfo, which then asks the debuginfod
 * servers DEBUGINFOD_URLS names (set by default on some distributions):
 * a snapshot would download debug information over the network inside the
 * program, waiting up to the client's timeouts; unless RCGC_DEBUGINFOD=1
 * says to (GDB, likewise, asks before it uses them). */
static int find_local_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                                Dwarf_Addr base, const char *file_name,
                                const char *debuglink_file, GElf_Word debuglink_crc,
                                char **debuginfo_file_name) {
    const char *ask = rc__getenv("RCGC_DEBUGINFOD");
    bool standard = ask && strcmp(ask, "1") == 0;
    errno = 0;
    int fd = (standard ? dwfl_standard_find_debuginfo : dwfl_build_id_find_debuginfo)(
        mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
        debuginfo_file_name);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE))
        fds_short = errno; /* libdwfl's own open */
    if (fd >= 0 || file_name == NULL || standard)
        return fd;
    return find_by_debuglink(mod, file_name, debuglink_file, debuglink_crc, debuginfo_file_name);
}

static const Dwfl_Callbacks proc_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = find_local_debuginfo,
};

/* Looks for no separate debug information: its search can dlopen libdw's
 * debuginfod client, which takes the dynamic linker's lock. */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file,
                        GElf_Word debuglink_crc, char **debuginfo_file_name) {
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1;
}

/* For finding librcgc's own code, once, under lib_lock, which a walk in a
 * constructor run by dlopen (the loader's lock held) may wait on: the
 * program's own DWARF only. */
static const Dwfl_Callbacks self_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = no_debuginfo,
};

/* What report_object reports to, and whether memory ran short meanwhile
 * (libdw then leaves the object out: a neighbour would take its code). */
typedef struct report { Dwfl *dwfl; bool short_of_memory; } report;

/* Whether [vaddr, vaddr + size) of info's object lies in one of its
 * loaded segments (so is mapped, and readable: a note is never in code
 * alone). */
static bool loaded_range(const struct dl_phdr_info *info, ElfW(Addr) vaddr, size_t size) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && vaddr >= ph->p_vaddr &&
            size <= ph->p_filesz && vaddr - ph->p_vaddr <= ph->p_filesz - size)
            return true;
    }
    return false;
}

/* The GNU build ID in the notes of info's segments as loaded (mapped
 * memory): its length, with *id pointing at it; 0 when it has none. */
static size_t loaded_build_id(const struct dl_phdr_info *info, const unsigned char **id) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE || !loaded_range(info, ph->p_vaddr, ph->p_memsz))
            continue;
        size_t align = ph->p_align == 8 ? 8 : 4;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            size_t name = (n->n_namesz + align - 1) & ~(align - 1);
            size_t desc = (n->n_descsz + align - 1) & ~(align - 1);
            if ((size_t)(end - p) - sizeof *n < name || (size_t)(end - p) - sizeof *n - name < desc)
                break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
                memcmp(p + sizeof *n, "GNU", 4) == 0) {
                *id = (const unsigned char *)(p + sizeof *n + name);
                return n->n_descsz;
            }
            p += sizeof *n + name + desc;
        }
    }
    return 0;
}

/* An fd of the file that info's object was loaded from (path, its name
 * now), or -1 when that file was replaced since (a package upgrade or a
 * deploy renames a new build over it: its build ID differs from the
 * loaded one), and for the program, /proc/self/exe, which still reaches
 * the file it runs (its link then says "(deleted)"). An object without a
 * build ID is the file mapped (its device and inode, from /proc/self/maps;
 * taken as it is without /proc). */
static int open_as_loaded(const struct dl_phdr_info *info, const char *path) {
    const unsigned char *want = NULL;
    size_t n = loaded_build_id(info, &want);
    bool program = info->dlpi_name == NULL || info->dlpi_name[0] == '\0';
    mapping m = {NULL, 0, 0};
    if (n == 0)
        m = mapping_of(first_loaded(info), NULL, 0);
    for (int attempt = 0; attempt < (program ? 2 : 1); attempt++) {
        int fd = open_ro(attempt ? "/proc/self/exe" : path);
        if (fd < 0)
            continue;
        struct stat st;
        if (n ? file_has_build_id(fd, want, n)
              : m.ino == 0 || (fstat(fd, &st) == 0 && st.st_dev == m.dev && st.st_ino == m.ino))
            return fd;
        close(fd);
    }
    return -1;
}

/* dl_iterate_phdr callback: reports info's object to the report arg's Dwfl,
 * when it has code and a file (the vDSO has none: dladdr names its
 * functions), with the dynamic linker's own load bias. */
static int report_object(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    report *rep = arg;
    char exe[4096];
    const char *path = object_path(info, exe, sizeof exe);
    if (path == NULL)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & PF_X)) {
            int fd = open_as_loaded(info, path);
            if (fd < 0)
                break; /* replaced since: named file+0xOFFSET, never by the new file's lines */
            errno = 0; /* an earlier object's mmap may have failed, read instead */
            if (dwfl_report_elf(rep->dwfl, path, path, fd, info->dlpi_addr, true) == NULL) {
                if (errno == ENOMEM)
                    rep->short_of_memory = true;
                close(fd);
            }
            break;
        }
    return 0;
}

/* A Dwfl describing the objects loaded now, or NULL (+ ENOMEM when memory
 * ran short, + fds_short when a file could not be opened for want of
 * descriptors: the object would be missing from it). They are taken from
 * the dynamic linker, not /proc/self/maps: there libdw's own mappings of
 * the files it reads (an earlier Dwfl's) stretched a module over code
 * loaded since, which then took that module's name. */
static Dwfl *open_self(const Dwfl_Callbacks *callbacks) {
    report rep = {dwfl_begin(callbacks), false};
    if (rep.dwfl == NULL)
        return NULL;
    dwfl_report_begin(rep.dwfl);
    dl_iterate_phdr(report_object, &rep);
    errno = 0;
    if (dwfl_report_end(rep.dwfl, NULL, NULL) != 0 || rep.short_of_memory || fds_short) {
        int err = fds_short ? fds_short : (rep.short_of_memory || errno == ENOMEM) ? ENOMEM : 0;
        dwfl_end(rep.dwfl);
        errno = err;
        return NULL;
    }
    return rep.dwfl;
}

/* 1 when unit cu's ranges hold pc (unbiased), 0 when they do not, -1
 * when it has none (or they cannot be read). */
static int unit_holds(Dwarf_Die *cu, Dwarf_Addr pc) {
    Dwarf_Addr base, start, end;
    ptrdiff_t off = 0;
    bool any = false;
    while ((off = dwarf_ranges(cu, off, &base, &start, &end)) > 0) {
        if (pc >= start && pc < end)
            return 1;
        any = true;
    }
    return any ? 0 : -1;
}

/* One address range (unbiased) of a die with code: a compilation unit of
 * a module, or one of a unit's outermost scopes. */
typedef struct die_range {
    Dwarf_Addr start, end;
    Dwarf_Addr reach;   /* the highest end of this range and those sorted before it */
    size_t order;       /* the die's place in the walk that found it */
    Dwarf_Die die;      /* valid while its Dwfl lives */
} die_range;

/* The ranges of a walk's dies sorted by start, to find the first die
 * holding an address in log time. Two kinds, made on first need by a
 * resolver and freed with its Dwfl: a module's units (unit_at, on the list
 * units), since without .debug_aranges each lookup read every unit's
 * ranges (most of a snapshot's time in a program of 2000 units); the
 * outermost scopes under a die with more than SCOPE_SCAN descendants (a
 * unit, a function: scope_index, in the table scopes), since searching
 * them one by one for each address took a millisecond an address in one
 * file of 4000 functions (an amalgamation). */
typedef struct die_index {
    struct die_index *next; /* on units */
    const void *key;        /* the module, or the scope die's data (die.addr) */
    Dwarf_Addr bias;        /* the module's (units) */
    size_t n, cap;
    die_range r[];
} die_index;

static int die_range_cmp(const void *a, const void *b) {
    const die_range *x = a, *y = b;
    if (x->start != y->start)
        return (x->start > y->start) - (x->start < y->start);
    return (x->order > y->order) - (x->order < y->order);
}

/* An empty index for key; NULL when memory is short. */
static die_index *index_new(const void *key) {
    die_index *ix = malloc(sizeof *ix + 8 * sizeof ix->r[0]);
    if (ix)
        *ix = (die_index){.key = key, .cap = 8};
    return ix;
}

/* Appends a range to *ixp, growing it; false when memory is short (*ixp is
 * then freed and NULL). */
static bool index_add(die_index **ixp, die_range range) {
    die_index *ix = *ixp;
    if (ix->n == ix->cap) {
        die_index *bigger = realloc(ix, sizeof *ix + 2 * ix->cap * sizeof ix->r[0]);
        if (bigger == NULL) {
            free(ix);
            *ixp = NULL;
            return false;
        }
        ix = *ixp = bigger;
        ix->cap *= 2;
    }
    ix->r[ix->n++] = range;
    return true;
}

/* Makes ix searchable once its walk has added every range; NULL + ENOMEM
 * (ix freed) when libdw ran short of memory on the walk, as errno, cleared
 * before it, tells: the walk then stopped early. */
static die_index *index_done(die_index *ix) {
    if (ix && errno == ENOMEM) {
        free(ix);
        return NULL;
    }
    if (ix == NULL)
        return NULL;
    qsort(ix->r, ix->n, sizeof ix->r[0], die_range_cmp);
    for (size_t i = 0; i < ix->n; i++)
        ix->r[i].reach = i && ix->r[i - 1].reach > ix->r[i].end ? ix->r[i - 1].reach : ix->r[i].end;
    return ix;
}

/* The index of mod's units, as the walk reads them; NULL + ENOMEM when
 * memory ran short, nothing kept. */
static die_index *index_units(Dwfl_Module *mod) {
    die_index *ix = index_new(mod);
    errno = 0;
    size_t order = 0;
    Dwarf_Addr bias = 0;
    for (Dwarf_Die *cu = NULL; ix && (cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL; order++) {
        Dwarf_Addr base, start, end;
        for (ptrdiff_t off = 0; ix && (off = dwarf_ranges(cu, off, &base, &start, &end)) > 0;)
            if (start < end && !index_add(&ix, (die_range){start, end, 0, order, *cu}))
                errno = ENOMEM;
    }
    if (ix)
        ix->bias = bias;
    return index_done(ix);
}

/* mod's index on the list *units, built on first need; NULL when memory
 * is short for it (the caller walks the units; the next lookup tries
 * again). */
static die_index *module_index(die_index **units, Dwfl_Module *mod) {
    for (die_index *ix = *units; ix; ix = ix->next)
        if (ix->key == mod)
            return ix;
    die_index *ix = index_units(mod);
    if (ix) {
        ix->next = *units;
        *units = ix;
    }
    return ix;
}

/* The die holding pc (unbiased) that the walk met first, or NULL: of the
 * ranges starting at or below pc, those whose reach passes pc may hold it
 * (ranges of units may overlap). */
static Dwarf_Die *index_find(die_index *ix, Dwarf_Addr pc) {
    size_t lo = 0, hi = ix->n; /* the first range starting above pc */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->r[mid].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    die_range *best = NULL;
    for (size_t i = lo; i-- > 0 && ix->r[i].reach > pc;)
        if (pc < ix->r[i].end && (best == NULL || ix->r[i].order < best->order))
            best = &ix->r[i];
    return best ? &best->die : NULL;
}

/* Whether mod's .debug_aranges hold pc (unbiased) exactly: libdwfl's own
 * lookup answers the range below an address in a gap between them. */
static bool aranges_hold(Dwfl_Module *mod, Dwarf_Addr pc) {
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    Dwarf_Aranges *aranges;
    size_t n;
    return dw && dwarf_getaranges(dw, &aranges, &n) == 0 &&
           dwarf_getarange_addr(aranges, pc) != NULL;
}

/* Whether unit cu has address ranges of its own. */
static bool has_ranges(Dwarf_Die *cu) {
    Dwarf_Addr base, start, end;
    return dwarf_ranges(cu, 0, &base, &start, &end) > 0;
}

/* The compilation unit of mod holding `at` (*bias: mod's), or NULL: the
 * first, in libdw's walk of units, whose ranges hold it, found through
 * mod's index on the list *units (a resolver's). Without the list (one
 * lookup) or memory for the index, dwfl_module_addrdie's answer where the
 * unit's ranges hold the address, else a walk of the units. Not
 * dwfl_module_addrdie first: it looks in .debug_aranges only (elfutils
 * before 0.191), which Clang does not write unless given -gdwarf-aranges,
 * and between two units that have aranges it answers the lower one, so
 * code of units without them (librcgc.a built by Clang, linked between a
 * GCC-built program's objects) was taken for the program's, or, where
 * that unit's ranges reach over them (they may overlap), for a unit whose
 * lines do not cover it; and checking its answer reads the unit's ranges,
 * one per function in a unit built with -ffunction-sections (a snapshot
 * of 40000 sites in one file of 20000 functions took 4.8 s). A unit the
 * aranges hold `at` in that has no ranges of its own is taken. */
static Dwarf_Die *unit_at(die_index **units, Dwfl_Module *mod, uintptr_t at, Dwarf_Addr *bias) {
    die_index *ix = units ? module_index(units, mod) : NULL;
    errno = 0; /* what the walk runs short of, not what came before */
    Dwarf_Die *cu = ix ? index_find(ix, at - ix->bias) : NULL;
    if (cu) {
        *bias = ix->bias;
        return cu;
    }
    cu = dwfl_module_addrdie(mod, at, bias);
    if (cu != NULL && aranges_hold(mod, at - *bias) &&
        (ix ? !has_ranges(cu) : unit_holds(cu, at - *bias) != 0))
        return cu;
    if (ix)
        return NULL;
    for (cu = NULL; (cu = dwfl_module_nextcu(mod, cu, bias)) != NULL;)
        if (unit_holds(cu, at - *bias) == 1)
            return cu;
    return NULL;
}

/* GCC's -flto: the code is in units named "<artificial>" (one per link
 * partition), whose functions only point (DW_AT_abstract_origin, through
 * a clone's chain) at their description in the early debug information of
 * their source file's unit, which has no code of its own. */
static bool is_lto_unit(Dwarf_Die *cu) {
    const char *name = dwarf_diename(cu);
    return name && strcmp(name, "<artificial>") == 0;
}

/* The unit that describes die (a function of an LTO unit) first, into
 * *unit; false when it cannot be read. The chain is bounded: the file may
 * be anything. */
static bool origin_unit(Dwarf_Die *die, Dwarf_Die *unit) {
    Dwarf_Die d = *die;
    Dwarf_Attribute attr;
    for (int hops = 0; hops < 8 && (dwarf_attr(&d, DW_AT_abstract_origin, &attr) ||
                                    dwarf_attr(&d, DW_AT_specification, &attr));
         hops++)
        if (dwarf_formref_die(&attr, &d) == NULL)
            return false;
    return dwarf_diecu(&d, unit, NULL, NULL) != NULL;
}

/* Whether die has code of its own (a function, an inlined instance, a
 * block), unlike a namespace or a class. */
static bool has_code(Dwarf_Die *die) {
    return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
}

/* The first of parent's outermost descendants with code (searched through
 * dies without code) whose code holds pc (unbiased), into *out, reading
 * them one by one within *budget of them: 1, 0 when none holds pc, -1 when
 * the budget ran out (scope_under; an LTO unit's function, for the library
 * search, without a budget). */
static int scan_scopes(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out, int *budget) {
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0)
        return 0;
    do {
        if (--*budget < 0)
            return -1;
        bool code = has_code(&child);
        int found = code ? dwarf_haspc(&child, pc) == 1 : scan_scopes(&child, pc, out, budget);
        if (found == 1 && code)
            *out = child;
        if (found != 0)
            return found;
    } while (dwarf_siblingof(&child, &child) == 0);
    return 0;
}


/* Whether unit cu defines an external function named rc_ (rc__ too), as
 * each of the library's source files does and a program's need not: one
 * that builds rcgc's sources in its own directory keeps its own units
 * there (static functions do not count: rcgc.h's inline rc_auto_drop_
 * has a copy in each unit that calls it unoptimized). A unit without
 * entries to tell by is taken. */
static bool defines_library_function(Dwarf_Die *cu) {
    Dwarf_Die die;
    if (dwarf_child(cu, &die) != 0)
        return true; /* a skeleton unit (split DWARF): by its directory alone */
    do {
        const char *name = dwarf_diename(&die);
        if (dwarf_tag(&die) == DW_TAG_subprogram && name && strncmp(name, "rc_", 3) == 0 &&
            dwarf_hasattr(&die, DW_AT_external) && !dwarf_hasattr(&die, DW_AT_declaration))
            return true;
    } while (dwarf_siblingof(&die, &die) == 0);
    return false;
}

/* Whether unit cu, named in the directory of own_name (up to its last
 * slash, dirlen bytes), is one of the library's. */
static bool library_unit(Dwarf_Die *cu, const char *own_name, size_t dirlen) {
    const char *name = dwarf_diename(cu);
    return name && strncmp(name, own_name, dirlen) == 0 && !strchr(name + dirlen, '/') &&
           defines_library_function(cu);
}

/* Adds the ranges of die (a unit or a function), biased. */
static void add_die_ranges(Dwarf_Die *die, Dwarf_Addr bias) {
    Dwarf_Addr base, start, end;
    for (ptrdiff_t off = 0; (off = dwarf_ranges(die, off, &base, &start, &end)) > 0;)
        add_range(start + bias, end + bias);
}

/* add_unit_ranges for an LTO unit: the ranges of its functions whose
 * origin is in one of the library's units (the verdict of the last origin
 * unit kept: a partition holds a file's functions together). */
static void add_lto_ranges(Dwarf_Die *cu, Dwarf_Addr bias, const char *own_name, size_t dirlen) {
    Dwarf_Die fn, origin;
    Dwarf_Off last = (Dwarf_Off)-1;
    bool library = false;
    if (dwarf_child(cu, &fn) != 0)
        return;
    do {
        if (dwarf_tag(&fn) != DW_TAG_subprogram || !origin_unit(&fn, &origin))
            continue;
        if (dwarf_dieoffset(&origin) != last) {
            last = dwarf_dieoffset(&origin);
            library = library_unit(&origin, own_name, dirlen);
        }
        if (library)
            add_die_ranges(&fn, bias);
    } while (dwarf_siblingof(&fn, &fn) == 0);
}

/* find_linked_ranges with DWARF: the ranges of mod's units in the
 * directory of own_name (up to its last slash, dirlen bytes) that define
 * a library function, and those of the functions of LTO units that come
 * from such units; false when libdw ran short of memory. */
static bool add_unit_ranges(Dwfl_Module *mod, const char *own_name, size_t dirlen) {
    Dwarf_Addr bias;
    errno = 0;
    for (Dwarf_Die *cu = NULL; (cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL;) {
        if (is_lto_unit(cu))
            add_lto_ranges(cu, bias, own_name, dirlen);
        else if (library_unit(cu, own_name, dirlen))
            add_die_ranges(cu, bias);
    }
    return errno != ENOMEM;
}

/* find_linked_ranges without DWARF: the span of the library's functions
 * in mod's symbol table (widen_by_symbol). */
static bool add_symbol_ranges(Dwfl_Module *mod) {
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    errno = 0;
    int n = dwfl_module_getsymtab(mod);
    if (n < 0 && errno == ENOMEM)
        return false;
    for (int i = 0; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
        if (name)
            widen_by_symbol(&lo, &hi, name, GELF_ST_TYPE(sym.st_info), addr, sym.st_size);
    }
    add_range(lo, hi);
    return true;
}

typedef struct linked_search {
    uintptr_t self; /* an address of the library's code */
    Dwfl *dwfl;     /* the Dwfl read, to end */
} linked_search;

/* find_linked_ranges under libdw_guarded. */
static bool search_linked_ranges(void *arg) {
    linked_search *ls = arg;
    /* errno is cleared before each call: libelf leaves ENOMEM behind when
     * it reads a file it could not map, and succeeds */
    errno = 0;
    ls->dwfl = open_self(&self_callbacks);
    Dwfl_Module *mod = NULL;
    if (ls->dwfl) {
        errno = 0;
        mod = dwfl_addrmodule(ls->dwfl, ls->self);
    }
    if (mod == NULL)
        return !short_of(errno);
    if (!module_dwarf(mod))
        return false;
    Dwarf_Addr bias;
    errno = 0;
    Dwarf_Die *own = unit_at(NULL, mod, ls->self, &bias), fn, origin;
    /* an LTO unit's: the unit its function at self comes from */
    int unbounded = INT_MAX;
    if (own && is_lto_unit(own))
        own = scan_scopes(own, ls->self - bias, &fn, &unbounded) == 1 && origin_unit(&fn, &origin)
                  ? &origin
                  : NULL;
    const char *own_name = own ? dwarf_diename(own) : NULL;
    const char *slash = own_name ? strrchr(own_name, '/') : NULL;
    if (own == NULL && short_of(errno))
        return false;
    if (own_name == NULL)
        return add_symbol_ranges(mod);
    /* a name without a directory: the others without one */
    size_t dirlen = slash ? (size_t)(slash - own_name) + 1 : 0;
    if (dirlen < sizeof lib_units.dir) {
        memcpy(lib_units.dir, own_name, dirlen);
        lib_units.dirlen = dirlen;
        lib_units.known = true;
    }
    return add_unit_ranges(mod, own_name, dirlen);
}

/* Static link (into the program or a shared object): the library's code is
 * what the compilation units of its source directory (or, named without
 * one, those named without one) that define its functions cover; without
 * DWARF, what its rc_* functions cover. false + ENOMEM when libdw ran out of
 * memory on the way (as far as errno tells, right after each call, or for
 * its own records: libdw_guarded), + EMFILE or ENFILE when the file could
 * not be opened. */
static bool find_linked_ranges(const self_object *so) {
    linked_search ls = {so->self, NULL};
    bool ok = libdw_guarded(search_linked_ranges, &ls);
    int err = errno;
    if (ls.dwfl)
        dwfl_end(ls.dwfl);
    if (!ok)
        errno = short_of(err) ? err : ENOMEM;
    return ok;
}
#else
/* The span [*lo, *hi) of the library's functions (widen_by_symbol) in the
 * symbol tables of the ELF image [file, file + size), unbiased; left as it
 * was when there are none. Every offset is checked
 * against size and every table's alignment: the file may be anything. */
static void symtab_span(const char *file, size_t size, uintptr_t *lo, uintptr_t *hi) {
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)file;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != (__ELF_NATIVE_CLASS == 64 ? ELFCLASS64 : ELFCLASS32) ||
        eh->e_shentsize != sizeof(ElfW(Shdr)) || eh->e_shoff > size ||
        eh->e_shoff % _Alignof(ElfW(Shdr)) != 0 ||
        eh->e_shnum > (size - eh->e_shoff) / sizeof(ElfW(Shdr)))
        return;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(file + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if ((sh[i].sh_type != SHT_SYMTAB && sh[i].sh_type != SHT_DYNSYM) ||
            sh[i].sh_entsize != sizeof(ElfW(Sym)) || sh[i].sh_link >= eh->e_shnum)
            continue;
        const ElfW(Shdr) *strs = &sh[sh[i].sh_link];
        if (sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset ||
            sh[i].sh_offset % _Alignof(ElfW(Sym)) != 0 || strs->sh_offset > size ||
            strs->sh_size > size - strs->sh_offset)
            continue;
        const ElfW(Sym) *sym = (const ElfW(Sym) *)(file + sh[i].sh_offset);
        const char *names = file + strs->sh_offset;
        for (size_t k = 0; k < sh[i].sh_size / sizeof *sym; k++) {
            if (sym[k].st_shndx == SHN_UNDEF || sym[k].st_name >= strs->sh_size)
                continue;
            const char *name = names + sym[k].st_name;
            if (memchr(name, '\0', strs->sh_size - sym[k].st_name) != NULL)
                widen_by_symbol(lo, hi, name, ELF64_ST_TYPE(sym[k].st_info), sym[k].st_value,
                                sym[k].st_size);
        }
    }
}

/* find_linked_ranges without libdw: the span of the library's functions in
 * the ELF symbol tables of so's file (as add_symbol_ranges), read with mmap;
 * none when the file cannot be read or has no symbol table (stripped).
 * false + ENOMEM when the file could not be mapped for want of memory, +
 * EMFILE or ENFILE when it could not be opened or mapped for want of
 * descriptors. */
static bool find_linked_ranges(const self_object *so) {
    int fd = so->path[0] ? open_ro(so->path) : -1;
    if (fd < 0)
        return !(so->path[0] && short_of(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(ElfW(Ehdr))) {
        close(fd);
        return true;
    }
    size_t size = (size_t)st.st_size;
    const char *file = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (file == MAP_FAILED) {
        errno = err;
        return !short_of(err);
    }
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    symtab_span(file, size, &lo, &hi);
    munmap((void *)file, size);
    if (lo < hi)
        add_range(lo + so->bias, hi + so->bias);
    return true;
}
#endif

static int range_cmp(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

/* Sorts the ranges and merges the overlapping ones, for in_library. */
static void sort_ranges(void) {
    qsort(lib_ranges, lib_nranges, sizeof lib_ranges[0], range_cmp);
    unsigned n = 0;
    for (unsigned i = 0; i < lib_nranges; i++) {
        if (n > 0 && lib_ranges[i].lo <= lib_ranges[n - 1].hi) {
            if (lib_ranges[i].hi > lib_ranges[n - 1].hi)
                lib_ranges[n - 1].hi = lib_ranges[i].hi;
        } else {
            lib_ranges[n++] = lib_ranges[i];
        }
    }
    lib_nranges = n;
}

static bool in_library(uintptr_t pc) {
    unsigned lo = 0, hi = lib_nranges;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (pc < lib_ranges[mid].lo)
            hi = mid;
        else if (pc >= lib_ranges[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* Fills lib_ranges; false + errno when memory or descriptors ran short
 * (short_of): the ranges found are then not all. */
static bool find_library(void) {
    static self_object so; /* 4 KiB of path: not on a walk's stack */
    so = (self_object){.self = (uintptr_t)&rc__stack_walk};
    int saved = errno;
    lib_nranges = 0;
    errno = 0;
    fds_short = 0;
    dl_iterate_phdr(find_self, &so);
    if (so.found && so.linked && !find_linked_ranges(&so))
        return false;
    if (fds_short) { /* the program's file, looked for without /proc */
        errno = fds_short;
        return false;
    }
    errno = saved;
    sort_ranges();
    return true;
}

/* Whether lib_ranges are known, finding them if not; false + errno when
 * memory or descriptors are short (short_of), and the next start tries
 * again (pthread_once would keep a half-found answer for good, showing the
 * library's frames from then on). Short of memory, it looks twice, as
 * rc__resolve resolves: a malloc inside libdw may leave ENOMEM in errno
 * and succeed.
 * A walk in a constructor run by dlopen (the loader's lock held) may wait
 * here on the lock, as it did on the once. */
static bool library_known(void) {
    if (RC_LIKELY(atomic_load_explicit(&lib_found, memory_order_acquire)))
        return true;
    pthread_mutex_lock(&lib_lock);
    bool known = atomic_load_explicit(&lib_found, memory_order_relaxed) || find_library() ||
                 (errno == ENOMEM && find_library());
    int err = errno;
    if (known)
        atomic_store_explicit(&lib_found, true, memory_order_release);
    pthread_mutex_unlock(&lib_lock);
    errno = err;
    return known;
}

/* --------------------------------------------------- all loaded code */

/* dl_iterate_phdr callback: the counts of loads and unloads, from the
 * first object (every call reports the same). */
static int read_counts(struct dl_phdr_info *info, size_t size, void *arg) {
    unsigned long long *counts = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        counts[0] = info->dlpi_adds;
        counts[1] = info->dlpi_subs;
    }
    return 1;
}

/* Which file a path named, as stat told. */
typedef struct file_id {
    bool known; /* stat succeeded */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

/* An object dlclose may unload, as a code table saw it: where it was
 * loaded and which file it was (stat when the table was made, which is
 * only after a dlopen or dlclose), so that its return addresses are never
 * taken for those of another object loaded there since (rc__resolve). */
typedef struct code_object {
    uintptr_t base;
    file_id file;
    char path[];
} code_object;

/* What stat says of path: its file's identity (not known: none). */
static file_id file_id_of(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0)
        return (file_id){.known = false};
    return (file_id){true, st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

static bool same_file(const file_id *a, const file_id *b) {
    return a->known == b->known &&
           (!a->known || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                          a->mtime.tv_sec == b->mtime.tv_sec &&
                          a->mtime.tv_nsec == b->mtime.tv_nsec));
}

/* The executable segments of every object loaded (sorted), as of
 * the dynamic linker's counts of loads and unloads (adds, subs). A return
 * address outside them is no return address: code without frame pointers
 * left something else where the walk looks (or the frame is JIT code,
 * which no object holds); the walk ends there. A table is replaced, never
 * changed, when those counts move (dlopen, dlclose): walks in other
 * threads may still read an old one, so old ones are kept (on `older`),
 * and a traceback names the one its return addresses belong to by serial.
 * A segment's obj is -1 for an object loaded with the program (never
 * unloaded), else its index in objs. */
typedef struct code_table {
    unsigned long long adds, subs;
    struct code_table *older;
    uint32_t serial;
    code_object **objs;
    unsigned nobjs;
    unsigned n, cap;
    struct { uintptr_t lo, hi; int obj; } r[];
} code_table;

static code_table *_Atomic code_now;
static pthread_mutex_t code_lock = PTHREAD_MUTEX_INITIALIZER;

/* The index of t's range holding at, or -1. */
static int code_find(const code_table *t, uintptr_t at) {
    unsigned lo = 0, hi = t ? t->n : 0;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (at < t->r[mid].lo)
            hi = mid;
        else if (at >= t->r[mid].hi)
            lo = mid + 1;
        else
            return (int)mid;
    }
    return -1;
}

/* What collect_code builds: the table (NULL once memory ran short), and
 * the names the objects loaded with the program need (DT_NEEDED), which
 * tell the objects after them that were loaded with it: the dynamic linker
 * lists those first, the program first of all, and never unloads them. */
#define MAX_NEEDED 128
typedef struct collect {
    code_table *t;
    unsigned nseen, nneeded; /* objects met, names (past MAX_NEEDED: left out,
                                their objects then taken for unloadable) */
    const char *needed[MAX_NEEDED];
} collect;

/* The base of info's dynamic section's address d: the dynamic linker
 * relocates it in place, except where the section is read-only. */
static uintptr_t dyn_address(const struct dl_phdr_info *info, uintptr_t d) {
    return d < info->dlpi_addr ? info->dlpi_addr + d : d;
}

/* Adds the names info's object needs to c->needed. */
static void add_needed(collect *c, const struct dl_phdr_info *info) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
            continue;
        const ElfW(Dyn) *dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        const char *strtab = NULL;
        for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
            if (d->d_tag == DT_STRTAB)
                strtab = (const char *)dyn_address(info, d->d_un.d_ptr);
        for (const ElfW(Dyn) *d = dyn; strtab && d->d_tag != DT_NULL; d++)
            if (d->d_tag == DT_NEEDED && c->nneeded < MAX_NEEDED)
                c->needed[c->nneeded++] = strtab + d->d_un.d_val;
    }
}

/* Whether info's object was loaded with the program (the first one, or
 * one named, by its path or its file name, by an object loaded with it
 * and not yet met); if so, adds the names it needs. A name seen twice is
 * the first's: the second was loaded by dlopen from another file. */
static bool loaded_with_program(collect *c, const struct dl_phdr_info *info) {
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    const char *file = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    bool with = c->nseen++ == 0;
    for (unsigned i = 0; !with && *name && i < c->nneeded; i++)
        if (c->needed[i] && (strcmp(c->needed[i], name) == 0 || strcmp(c->needed[i], file) == 0)) {
            c->needed[i] = NULL;
            with = true;
        }
    if (with)
        add_needed(c, info);
    return with;
}

/* A record of info's object, or NULL when memory is short. */
static code_object *object_record(const struct dl_phdr_info *info) {
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    code_object *o = malloc(sizeof *o + strlen(name) + 1);
    if (o == NULL)
        return NULL;
    *o = (code_object){.base = info->dlpi_addr, .file = file_id_of(name)};
    strcpy(o->path, name);
    return o;
}

/* Whether a and b are records of the same file loaded at the same place
 * (either may be NULL: none). */
static bool same_object(const code_object *a, const code_object *b) {
    if (a == NULL || b == NULL)
        return a == b;
    return a->base == b->base && strcmp(a->path, b->path) == 0 && same_file(&a->file, &b->file);
}

/* Frees t and its records. */
static void table_free(code_table *t) {
    for (unsigned i = 0; t && i < t->nobjs; i++)
        free(t->objs[i]);
    if (t)
        free(t->objs);
    free(t);
}

/* The index in c->t's objs of a new record of info's object, or -1 with
 * c->t freed and NULL when memory is short. */
static int add_object(collect *c, const struct dl_phdr_info *info) {
    code_table *t = c->t;
    code_object **objs = realloc(t->objs, (t->nobjs + 1) * sizeof *objs);
    code_object *o = objs ? object_record(info) : NULL;
    if (objs)
        t->objs = objs;
    if (o == NULL) {
        table_free(t);
        c->t = NULL;
        return -1;
    }
    t->objs[t->nobjs] = o;
    return (int)t->nobjs++;
}

/* Appends segment [lo, hi) of object obj to c->t, growing it; false with
 * c->t freed and NULL when memory is short. */
static bool add_segment(collect *c, uintptr_t lo, uintptr_t hi, int obj) {
    code_table *t = c->t;
    if (t->n == t->cap) {
        code_table *bigger = realloc(t, sizeof *t + 2 * t->cap * sizeof t->r[0]);
        if (bigger == NULL) {
            table_free(t);
            c->t = NULL;
            return false;
        }
        t = c->t = bigger;
        t->cap *= 2;
    }
    t->r[t->n].lo = lo;
    t->r[t->n].hi = hi;
    t->r[t->n].obj = obj;
    t->n++;
    return true;
}

/* dl_iterate_phdr callback: adds info's executable segments to the table
 * being collected (arg), with a record of the object when dlclose may
 * unload it; the table goes (NULL) when memory is short. */
static int collect_code(struct dl_phdr_info *info, size_t size, void *arg) {
    collect *c = arg;
    bool with_program = loaded_with_program(c, info);
    int obj = -2; /* no record yet */
    for (int i = 0; c->t && i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        if (obj == -2)
            obj = with_program ? -1 : add_object(c, info);
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (c->t)
            add_segment(c, lo, lo + ph->p_memsz, obj);
    }
    if (c->t == NULL)
        return 1;
    unsigned long long counts[2] = {0, 0};
    read_counts(info, size, counts);
    c->t->adds = counts[0];
    c->t->subs = counts[1];
    return 0;
}

/* A new table of the objects loaded now, following `old`; NULL when
 * memory is short. Its making's state is on the heap, not on the stack of
 * the walk that asked (a thread's may be small: PTHREAD_STACK_MIN). */
static code_table *collect_table(const code_table *old) {
    collect *c = malloc(sizeof *c);
    code_table *t = c ? malloc(sizeof *t + 64 * sizeof t->r[0]) : NULL;
    if (t) {
        *t = (code_table){.cap = 64, .serial = old ? old->serial + 1 : 1};
        *c = (collect){.t = t};
        dl_iterate_phdr(collect_code, c);
        t = c->t;
    }
    if (t)
        qsort(t->r, t->n, sizeof t->r[0], range_cmp);
    free(c);
    return t;
}

/* Makes code_now describe the objects loaded now, if they changed since
 * `seen` was made: 1 when it changed, 0 when nothing changed, -1 + ENOMEM
 * when memory is short to describe them. A table another thread put there
 * meanwhile serves only if it was made at the counts read here or later:
 * one it had begun before a dlopen that the caller has seen end would miss
 * the new object, and the caller's walk would end at its frame (and keep
 * ending there: the thread's last miss is not looked up again). */
static int code_refresh(const code_table *seen) {
    unsigned long long counts[2] = {0, 0};
    dl_iterate_phdr(read_counts, counts);
    if (seen && counts[0] == seen->adds && counts[1] == seen->subs)
        return 0;
    pthread_mutex_lock(&code_lock);
    code_table *old = atomic_load(&code_now), *t = NULL;
    bool short_of_memory = false;
    /* the counts only grow: a table at or past them holds every object
     * loaded then and still loaded */
    if (old == NULL || old->adds < counts[0] || old->subs < counts[1]) {
        t = collect_table(old);
        if (t) {
            t->older = old;
            atomic_store(&code_now, t);
        }
        short_of_memory = t == NULL;
    }
    pthread_mutex_unlock(&code_lock);
    if (short_of_memory) {
        errno = ENOMEM;
        return -1;
    }
    return old != seen || t != NULL;
}

/* What the calling thread's walks found in seen_table: the segment of the
 * last walk's first program frame (the next walk's is most likely there
 * too), and the last address found in no segment (most walks end on the
 * same bytes past the outermost frame). */
static __thread const code_table *seen_table;
static __thread uintptr_t seen_first[2], last_miss;
static __thread bool seen_first_unloadable;

/* Whether `at` lies in the code of an object loaded now (1, else 0); if
 * so, range is the segment holding it (a walk's next frames are mostly in
 * the same one: it tests that first) and *unloadable whether dlclose may
 * unload its object. A miss asks the dynamic linker
 * whether objects came or went (about as long as the rest of a walk),
 * unless it is the thread's last miss. -1 + ENOMEM when the objects could
 * not be described (not remembered as a miss: the next walk tries again). */
static __attribute__((noinline)) int in_code(uintptr_t at, uintptr_t range[2], bool *unloadable) {
    const code_table *t = atomic_load_explicit(&code_now, memory_order_acquire);
    if (t == seen_table && at == last_miss)
        return 0;
    int i = code_find(t, at);
    if (i < 0) {
        int changed = code_refresh(t);
        if (changed < 0)
            return -1;
        if (changed) {
            t = atomic_load_explicit(&code_now, memory_order_acquire);
            i = code_find(t, at);
        }
    }
    if (t != seen_table) {
        seen_table = t;
        seen_first[0] = seen_first[1] = last_miss = 0;
    }
    if (i < 0) {
        last_miss = at;
        return 0;
    }
    range[0] = t->r[i].lo;
    range[1] = t->r[i].hi;
    *unloadable = t->r[i].obj >= 0;
    return 1;
}

/* The serial of a code table that describes the objects loaded now (one
 * made since the caller's walk began), for a walk that met code dlclose
 * may unload: the table it read may be older than a dlclose and a dlopen
 * at the same address. 0 + ENOMEM when memory is short to make one. */
static __attribute__((noinline)) uint32_t code_serial_now(void) {
    if (code_refresh(atomic_load_explicit(&code_now, memory_order_acquire)) < 0)
        return 0;
    return atomic_load_explicit(&code_now, memory_order_acquire)->serial;
}

/* The library's code, and a table of the loaded objects': making the
 * first binds what it calls (a lazy binding takes kilobytes of stack). */
bool rc__stack_walk_prepare(void) {
    int saved = errno;
    if (!library_known())
        return false;
    (void)code_refresh(NULL);
    errno = saved;
    return true;
}

/* ------------------------------------------------------------- the walk */

/* The calling thread's stack, [stack_lo, stack_hi), found once per thread;
 * stack_hi 0 when unknown (then nothing is walked), with *err ENOMEM when
 * memory was short to find it (glibc reads /proc/self/maps for the main
 * thread). Returns stack_hi. */
static __thread uintptr_t stack_lo, stack_hi;

#define BLOCK_SIZE ((uintptr_t)4096) /* pages are at least that */

/* glibc's: where the main thread's stack began (its arguments above). */
extern void *__libc_stack_end __attribute__((weak));

/* The main thread's stack without /proc, whose maps glibc reads for it (a
 * chroot or a sandbox may have none): from the page end above where it
 * began down by its RLIMIT_STACK. False on another thread. */
static bool main_stack_without_proc(void) {
    if (&__libc_stack_end == NULL || __libc_stack_end == NULL ||
        getpid() != (pid_t)syscall(SYS_gettid))
        return false;
    struct rlimit limit;
    size_t size = (size_t)8 << 20;
    if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        size = (size_t)limit.rlim_cur;
    stack_hi = ((uintptr_t)__libc_stack_end + BLOCK_SIZE - 1) & ~(uintptr_t)(BLOCK_SIZE - 1);
    stack_lo = stack_hi > size ? stack_hi - size : 0;
    return true;
}

static uintptr_t thread_stack(int *err) {
    if (RC_LIKELY(stack_hi != 0))
        return stack_hi;
    pthread_attr_t attr;
    void *addr;
    size_t size;
    int saved = errno;
    errno = 0;
    *err = pthread_getattr_np(pthread_self(), &attr);
    if (*err != 0 && errno == ENOMEM) /* glibc says ENOENT when its getline failed */
        *err = ENOMEM;
    errno = saved;
    if (*err != 0) {
        if (*err != ENOMEM && main_stack_without_proc())
            *err = 0;
        return stack_hi;
    }
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        stack_lo = (uintptr_t)addr;
        stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
    return stack_hi;
}

/* A frame record as -fno-omit-frame-pointer lays it out (x86-64, AArch64):
 * the caller's frame pointer, then the return address into the caller. */
typedef struct frame_record {
    const struct frame_record *next;
    uintptr_t ret;
} frame_record;

/* The code address a frame record's return address names. On AArch64,
 * code built with -mbranch-protection=pac-ret or =standard (hardening
 * flags distributions add) signs the return address before saving it: the
 * signature in its top bits put it outside every object's code, and the
 * walk ended at the first such frame. XPACLRI strips it (a hint
 * instruction: nothing on a processor without pointer authentication, or
 * for an address never signed). */
static inline uintptr_t return_address(uintptr_t ret) {
#if defined(__aarch64__)
    register uintptr_t lr __asm__("x30") = ret;
    __asm__("hint #7" /* xpaclri */ : "+r"(lr));
    return lr;
#else
    return ret;
#endif
}

/* Frame records on a stack other than the thread's own (a coroutine's, a
 * signal's alternate stack) are loaded only from memory the kernel said it
 * can read: there a frame pointer that code built without them left may
 * name any address, and loading it could fault. Such a stack may lie above
 * the thread's as well as below it (a mapping made later, in a hole).
 * The test is per 4 KiB block (pages are at least that, and readable or
 * not whole): a system call per block of stack the walk enters, not per
 * frame, and no copy on the stack, which may be a small one. */
typedef struct foreign_stack {
    pid_t pid;       /* 0 until the first test */
    uintptr_t block; /* the last block found readable, or 1 */
} foreign_stack;

#define BLOCK_MASK (BLOCK_SIZE - 1)

/* A pipe for the test where process_vm_readv is refused: the read end in
 * the high half, the write end in the low one; 0 until made (a failure to
 * make it is not kept: the next test tries again). */
static _Atomic uint64_t probe_pipe;

/* Whether the byte at p can be read, by writing it into probe_pipe (the
 * kernel answers EFAULT where a load would fault) and reading it back out
 * (another thread's byte, maybe: each takes one out). False when no pipe
 * can be made. */
static bool pipe_readable(const void *p) {
    uint64_t fds = atomic_load_explicit(&probe_pipe, memory_order_acquire);
    if (fds == 0) {
        int made[2];
        if (pipe2(made, O_CLOEXEC | O_NONBLOCK) != 0)
            return false;
        uint64_t none = 0, mine = (uint64_t)(uint32_t)made[0] << 32 | (uint32_t)made[1];
        if (atomic_compare_exchange_strong_explicit(&probe_pipe, &none, mine,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            fds = mine;
        } else {
            close(made[0]);
            close(made[1]);
            fds = none;
        }
    }
    /* the system call itself: a sanitizer's write() checks the bytes as its
     * program's, and a stack's old frames are poisoned to it */
    char byte;
    if (syscall(SYS_write, (int)(uint32_t)fds, p, 1) != 1)
        return false;
    (void)!read((int)(fds >> 32), &byte, 1);
    return true;
}

/* Whether the block at `block` can be read (process_vm_readv answers
 * EFAULT where a load would fault; errno kept). Where a seccomp filter
 * refuses that call (Docker's default profile does, without
 * CAP_SYS_PTRACE: EPERM), pipe_readable answers instead. */
static bool block_readable(foreign_stack *fs, uintptr_t block) {
    static atomic_bool refused;
    if (block == fs->block)
        return true;
    int saved = errno;
    if (fs->pid == 0)
        fs->pid = getpid();
    char byte;
    struct iovec local = {&byte, 1}, remote = {(void *)block, 1};
    bool ok;
    if (atomic_load_explicit(&refused, memory_order_relaxed)) {
        ok = pipe_readable((const void *)block);
    } else if (!(ok = process_vm_readv(fs->pid, &local, 1, &remote, 1, 0) == 1) &&
               (errno == EPERM || errno == ENOSYS)) {
        atomic_store_explicit(&refused, true, memory_order_relaxed);
        ok = pipe_readable((const void *)block);
    }
    errno = saved;
    if (ok)
        fs->block = block;
    return ok;
}

/* *out = *fr, or false where fr may not be mapped: loaded directly on the
 * thread's own stack [stack_lo, stack_hi) (mapped from fr up to its top),
 * or when known (fr is the walk's own frame, or the frame pointer of a
 * caller in librcgc, which is built with frame pointers); else (another
 * stack, below the thread's or above it) once block_readable said so. */
static bool load_record(foreign_stack *fs, const frame_record *fr, bool known,
                        frame_record *out) {
    uintptr_t at = (uintptr_t)fr, last = at + sizeof *out - 1;
    if (!known && (at < stack_lo || last >= stack_hi) &&
        (!block_readable(fs, at & ~BLOCK_MASK) || !block_readable(fs, last & ~BLOCK_MASK)))
        return false;
    *out = *fr;
    return true;
}

__attribute__((noinline))
int rc__stack_walk(uintptr_t *pcs, unsigned max, unsigned *total, uint32_t *serial) {
    int err = 0;
    uintptr_t top = thread_stack(&err);
    if (err == ENOMEM) {
        errno = ENOMEM;
        return -1;
    }
    const frame_record *fr = __builtin_frame_address(0);
    foreign_stack fs = {0, 1};
    bool known = true;
    unsigned stored = 0, seen = 0;
    /* the code segment of the last frame; at first, the last walk's first */
    bool same = atomic_load_explicit(&code_now, memory_order_relaxed) == seen_table;
    uintptr_t code[2] = {same ? seen_first[0] : 0, same ? seen_first[1] : 0};
    /* whether code's object may be unloaded; whether a stored frame's may */
    bool unloadable = same && seen_first_unloadable, stored_unloadable = false;
    while (top != 0) {
        frame_record rec;
        if (!load_record(&fs, fr, known, &rec))
            break;
        uintptr_t pc = return_address(rec.ret);
        const frame_record *next = rec.next;
        /* a record of code without frame pointers may be any stack bytes,
         * never written: Valgrind would report each test on them */
        RC_VALGRIND(VALGRIND_MAKE_MEM_DEFINED(&pc, sizeof pc);
                    VALGRIND_MAKE_MEM_DEFINED(&next, sizeof next));
        if (pc == 0)
            break;
        /* pc - 1 lies in the call instruction, inside the caller. Library
         * frames deeper down are those of code the library called back (a
         * finalizer allocating inside rc_decref): dropped too, as CPython's
         * own C frames never show between Python ones. */
        known = in_library(pc - 1);
        if (!known) {
            if (pc - 1 - code[0] >= code[1] - code[0]) {
                int c = in_code(pc - 1, code, &unloadable);
                if (c < 0)
                    return -1;
                if (c == 0)
                    break;
                stored_unloadable |= unloadable && stored < max;
            }
            if (seen == 0) {
                seen_first[0] = code[0];
                seen_first[1] = code[1];
                seen_first_unloadable = stored_unloadable = unloadable;
            }
            if (stored < max)
                pcs[stored++] = pc;
            if (++seen == UINT16_MAX)
                break;
        }
        if (next <= fr || ((uintptr_t)next & (sizeof(void *) - 1)) != 0)
            break;
        fr = next;
    }
    *total = seen;
    *serial = RC_UNLIKELY(stored_unloadable) ? code_serial_now() : 0;
    return RC_UNLIKELY(stored_unloadable && *serial == 0) ? -1 : (int)stored;
}

/* ----------------------------------------------------------- resolution */

/* A resolved return address: its frame, and when functions were inlined
 * there, the frames of their callers inside the real function (outer,
 * innermost first, malloc'ed); strings belong to the resolver. */
typedef struct resolved {
    uintptr_t pc;
    rc_frame frame;
    rc_frame *outer;
    unsigned nouter;
} resolved;

#ifdef RCGC_HAVE_LIBDW
/* A Dwfl of one file of an object unloaded, reported where it was loaded
 * (its own: another object may be loaded there now), on the resolver's
 * list gone; ended with the resolver's Dwfl. */
typedef struct gone_file {
    struct gone_file *next;
    const code_object *obj;
    Dwfl *dwfl;
    Dwfl_Module *mod;
} gone_file;

#endif

/* The resolver describes the objects loaded when it last looked (adds,
 * subs: dl_iterate_phdr's counts of loads and unloads); when they change
 * (dlopen, dlclose), its cache goes, for an address may now hold other
 * code, and so does its Dwfl (which would place code loaded since in a
 * neighbour; a Dwfl holds its objects' files open and mapped, some 17 MB
 * each with libc's debug information, so the old one is ended). Every
 * string it hands out is its own copy (strings: one per distinct string),
 * valid until it is freed. */
struct rc_resolver {
#ifdef RCGC_HAVE_LIBDW
    Dwfl *dwfl;           /* NULL until first needed */
    die_index *units;     /* of dwfl's and gone's modules, made as unit_at needs them */
    die_index **scopes;   /* open addressing on the die (scope_index); NULL marks a free slot */
    size_t scopes_mask, nscopes;
    gone_file *gone;      /* files of objects unloaded, as needed */
#endif
    unsigned long long adds, subs;
    const code_table *now; /* at adds, subs or later; NULL when memory was short */
    const code_table *then; /* the table unloaded_since last looked in */
    resolved *cache;      /* open addressing on pc; pc 0 marks a free slot */
    size_t mask, count;
    char **strings;       /* open addressing on the bytes; NULL marks a free slot */
    size_t strings_cap, nstrings;
    rc_frame scratch[2 * RC_TRACEMALLOC_MAX_NFRAME]; /* rc__resolver_scratch */
};

/* Empties the cache (its outer arrays go; the strings stay). */
static void cache_clear(rc_resolver *r) {
    for (size_t i = 0; r->cache && i <= r->mask; i++)
        free(r->cache[i].outer);
    if (r->cache)
        memset(r->cache, 0, (r->mask + 1) * sizeof *r->cache);
    r->count = 0;
}

#ifdef RCGC_HAVE_LIBDW
/* Ends r's Dwfls, and the unit indexes that point into them. */
static void end_dwfl(rc_resolver *r) {
    while (r->gone) {
        gone_file *next = r->gone->next;
        dwfl_end(r->gone->dwfl);
        free(r->gone);
        r->gone = next;
    }
    while (r->units) {
        die_index *next = r->units->next;
        free(r->units);
        r->units = next;
    }
    for (size_t i = 0; r->scopes && i <= r->scopes_mask; i++)
        free(r->scopes[i]);
    free(r->scopes);
    r->scopes = NULL;
    r->scopes_mask = r->nscopes = 0;
    if (r->dwfl)
        dwfl_end(r->dwfl);
    r->dwfl = NULL;
}
#endif

/* Makes r describe the objects loaded at counts (or later): its code
 * table, which unloaded_since compares with older ones (NULL when memory
 * is short for it: every object of those is then taken for gone). */
static void resolver_at(rc_resolver *r, const unsigned long long counts[2]) {
    int saved = errno;
    r->adds = counts[0];
    r->subs = counts[1];
    r->now = code_refresh(NULL) < 0 ? NULL : atomic_load(&code_now);
    errno = saved;
}

/* A new resolver; NULL + ENOMEM. */
static rc_resolver *resolver_new(void) {
    rc_resolver *r = calloc(1, sizeof(rc_resolver));
    if (r) {
        unsigned long long counts[2] = {0, 0};
        dl_iterate_phdr(read_counts, counts);
        resolver_at(r, counts);
    }
    return r;
}

rc_frame *rc__resolver_scratch(rc_resolver *r) { return r->scratch; }

/* Makes r look at the objects loaded now: after a dlopen or dlclose, its
 * cache and Dwfl go (see rc_resolver). */
static void resolver_sync(rc_resolver *r) {
    unsigned long long counts[2] = {r->adds, r->subs};
    dl_iterate_phdr(read_counts, counts);
    if (counts[0] == r->adds && counts[1] == r->subs) {
        if (r->now == NULL)
            resolver_at(r, counts);
        return;
    }
#ifdef RCGC_HAVE_LIBDW
    end_dwfl(r);
#endif
    cache_clear(r);
    resolver_at(r, counts);
}

static void resolver_free(rc_resolver *r) {
#ifdef RCGC_HAVE_LIBDW
    end_dwfl(r);
#endif
    for (size_t i = 0; i < r->strings_cap; i++)
        free(r->strings[i]);
    free(r->strings);
    cache_clear(r);
    free(r->cache);
    free(r);
}

/* The process's resolver, which every tracer that resolves shares: a Dwfl
 * of the loaded files' debug information took some 14 MB and 45 ms to
 * make, and made per heap, 50 heaps tracing held 680 MB. Made by the
 * first holder, ended when the last lets go; its users take turns under
 * `lock` (heaps on two threads may resolve at once), and `resolving` tells
 * a thread already inside a turn (a heap's rc_alloc_fn, called for a
 * traceback's memory, that asks for another) not to wait for itself. */
static struct {
    pthread_mutex_t lock;
    rc_resolver *r;
    size_t holders;
} shared_resolver = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};
static _Thread_local bool resolving;

/* fork() keeps the frames' locks whole for the child: a lock another
 * thread held at the fork (inside a resolver turn, a look for the
 * library's code, a table of loaded objects being made) would be held
 * for good in the child, whose first traceback or snapshot would wait on
 * it forever. Before the fork the forking thread takes them all (waiting
 * for such work to end; the order of every nesting: a turn's lock first),
 * after it each process lets them go. A thread forking inside its own
 * turn (a heap's rc_alloc_fn) has that lock already and keeps it. */
static void fork_prepare(void) {
    if (!resolving)
        pthread_mutex_lock(&shared_resolver.lock);
    pthread_mutex_lock(&lib_lock);
    pthread_mutex_lock(&code_lock);
}

static void fork_done(void) {
    pthread_mutex_unlock(&code_lock);
    pthread_mutex_unlock(&lib_lock);
    if (!resolving)
        pthread_mutex_unlock(&shared_resolver.lock);
}

__attribute__((constructor)) static void fork_handlers(void) {
    pthread_atfork(fork_prepare, fork_done, fork_done);
}

/* In a turn, this thread has the lock already, and the resolver a holder. */
rc_resolver *rc__resolver_hold(void) {
    if (!resolving)
        pthread_mutex_lock(&shared_resolver.lock);
    if (shared_resolver.r == NULL)
        shared_resolver.r = resolver_new();
    rc_resolver *r = shared_resolver.r;
    shared_resolver.holders += r != NULL;
    if (!resolving)
        pthread_mutex_unlock(&shared_resolver.lock);
    if (r == NULL)
        errno = ENOMEM;
    return r;
}

void rc__resolver_drop(rc_resolver *r) {
    if (r == NULL)
        return;
    if (!resolving)
        pthread_mutex_lock(&shared_resolver.lock);
    if (--shared_resolver.holders == 0) {
        resolver_free(shared_resolver.r);
        shared_resolver.r = NULL;
    }
    if (!resolving)
        pthread_mutex_unlock(&shared_resolver.lock);
}

bool rc__resolver_begin(rc_resolver *r) {
    if (resolving) {
        errno = EDEADLK;
        return false;
    }
    pthread_mutex_lock(&shared_resolver.lock);
    resolving = true;
    resolver_sync(r);
    return true;
}

void rc__resolver_end(rc_resolver *r) {
    (void)r;
    resolving = false;
    pthread_mutex_unlock(&shared_resolver.lock);
}

/* The slot of s in a string set of cap (a power of two) slots: its copy's,
 * or the free one where it would go. */
static size_t string_slot(char **set, size_t cap, const char *s) {
    size_t i = rc__hash_bytes(s, strlen(s)) & (cap - 1);
    while (set[i] && strcmp(set[i], s) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

/* The resolver's copy of s (NULL for NULL), or NULL when memory is short. */
static const char *keep(rc_resolver *r, const char *s) {
    if (s == NULL)
        return NULL;
    if ((r->nstrings + 1) * 2 > r->strings_cap) {
        size_t cap = r->strings_cap ? 2 * r->strings_cap : 64;
        char **set = calloc(cap, sizeof *set);
        if (set == NULL)
            return NULL;
        for (size_t i = 0; i < r->strings_cap; i++)
            if (r->strings[i])
                set[string_slot(set, cap, r->strings[i])] = r->strings[i];
        free(r->strings);
        r->strings = set;
        r->strings_cap = cap;
    }
    size_t i = string_slot(r->strings, r->strings_cap, s);
    if (r->strings[i] == NULL) {
        if ((r->strings[i] = strdup(s)) == NULL)
            return NULL;
        r->nstrings++;
    }
    return r->strings[i];
}

/* "binary+0xOFFSET" for pc in the object loaded at base from path, as the
 * resolver's string; NULL when memory is short. */
static const char *format_offset(rc_resolver *r, const char *path, uintptr_t base, uintptr_t pc) {
    const char *name = path && *path ? path : "?";
    const char *slash = strrchr(name, '/');
    char s[512];
    snprintf(s, sizeof s, "%s+0x%lx", slash ? slash + 1 : name, (unsigned long)(pc - base));
    return keep(r, s);
}

#ifdef RCGC_HAVE_LIBDW
/* libdw composes a line's file with its directory ("/src/demo.c"); for the
 * source file of unit cu (source_unit, or NULL), give the name it was
 * compiled as (its DW_AT_name, "demo.c"), which is what __FILE__ says at
 * call sites. */
static const char *primary_spelling(Dwarf_Die *cu, const char *file) {
    const char *name = cu ? dwarf_diename(cu) : NULL;
    if (name == NULL || name[0] == '/')
        return file;
    Dwarf_Attribute attr;
    const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
    size_t n = dir ? strlen(dir) : 0;
    if (n && strncmp(file, dir, n) == 0 && file[n] == '/' && strcmp(file + n + 1, name) == 0)
        return name;
    return file;
}
#endif

#ifdef RCGC_HAVE_LIBDW
/* The name of the function die is (an inlined instance's is on its
 * abstract origin), or NULL. */
static const char *die_function(Dwarf_Die *die) {
    Dwarf_Attribute attr;
    return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

/* Adds the outermost dies with code among parent's descendants (searched
 * through dies without code) to *ixp, counting them in *order; false when
 * memory is short (*ixp freed and NULL). */
static bool index_scopes(die_index **ixp, Dwarf_Die *parent, size_t *order) {
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0)
        return true;
    do {
        if (!has_code(&child)) {
            if (!index_scopes(ixp, &child, order))
                return false;
            continue;
        }
        Dwarf_Addr base, start, end;
        for (ptrdiff_t off = 0; (off = dwarf_ranges(&child, off, &base, &start, &end)) > 0;)
            if (start < end && !index_add(ixp, (die_range){start, end, 0, *order, child}))
                return false;
        ++*order;
    } while (dwarf_siblingof(&child, &child) == 0);
    return true;
}

static size_t scope_slot(const void *key, size_t mask) {
    return (size_t)(((uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ull >> 20) & mask;
}

/* The slot of r's table where the index of the scopes of the die whose
 * data is at key is, or would go. */
static size_t scope_find(const rc_resolver *r, const void *key) {
    size_t i = scope_slot(key, r->scopes_mask);
    while (r->scopes[i] && r->scopes[i]->key != key)
        i = (i + 1) & r->scopes_mask;
    return i;
}

/* Makes the index of die's outermost scopes and puts it in r's table;
 * NULL + ENOMEM when memory is short, nothing kept. */
static die_index *scope_index(rc_resolver *r, Dwarf_Die *die) {
    if (2 * (r->nscopes + 1) > r->scopes_mask + 1) {
        size_t mask = r->scopes ? 2 * r->scopes_mask + 1 : 15;
        die_index **bigger = calloc(mask + 1, sizeof *bigger);
        if (bigger == NULL) {
            errno = ENOMEM;
            return NULL;
        }
        die_index **old = r->scopes;
        size_t old_mask = r->scopes_mask;
        r->scopes = bigger;
        r->scopes_mask = mask;
        for (size_t j = 0; old && j <= old_mask; j++)
            if (old[j])
                bigger[scope_find(r, old[j]->key)] = old[j];
        free(old);
    }
    die_index *ix = index_new(die->addr);
    size_t order = 0;
    errno = 0;
    if (ix == NULL || !index_scopes(&ix, die, &order) || (ix = index_done(ix)) == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    r->nscopes++;
    return r->scopes[scope_find(r, die->addr)] = ix;
}

/* How many of a scope's descendants scope_under reads one by one before it
 * indexes them: a unit of 4000 functions cost a millisecond an address
 * read so, an interpreter's loop of 5000 inlined calls 250 us; the index
 * of a small scope would cost more memory than it saves time. */
#define SCOPE_SCAN 64

/* The first of parent's outermost descendants with code (searched through
 * dies without code: a namespace, a class) whose code holds pc (unbiased),
 * into *out: read one by one, or, for a scope with more than SCOPE_SCAN
 * descendants, through its index in r's table (made the first time). false
 * when none holds it, + ENOMEM when memory is short (errno is cleared
 * first). */
static bool scope_under(rc_resolver *r, Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out) {
    errno = 0;
    die_index *ix = r->scopes ? r->scopes[scope_find(r, parent->addr)] : NULL;
    if (ix == NULL) {
        int budget = SCOPE_SCAN;
        int found = scan_scopes(parent, pc, out, &budget);
        if (found >= 0)
            return found;
        if ((ix = scope_index(r, parent)) == NULL)
            return false;
    }
    Dwarf_Die *die = index_find(ix, pc);
    if (die)
        *out = *die;
    return die != NULL;
}

/* The dies from an outermost scope down to an innermost one (malloc'ed). */
typedef struct scope_path {
    Dwarf_Die *die;
    int n, cap;
} scope_path;

static bool path_push(scope_path *p, Dwarf_Die *die) {
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        Dwarf_Die *bigger = realloc(p->die, (size_t)cap * sizeof *bigger);
        if (bigger == NULL) {
            errno = ENOMEM;
            return false;
        }
        p->die = bigger;
        p->cap = cap;
    }
    p->die[p->n++] = *die;
    return true;
}

/* The scopes holding pc in unit cu into p, from the outermost down to the
 * innermost (a function, an inlined instance, a block); false + ENOMEM
 * when memory is short. */
static bool scopes_at(rc_resolver *r, Dwarf_Die *cu, Dwarf_Addr pc, scope_path *p) {
    Dwarf_Die parent = *cu, inner;
    while (scope_under(r, &parent, pc, &inner)) {
        if (!path_push(p, &inner))
            return false;
        parent = inner;
    }
    return errno != ENOMEM;
}

/* For a unit none of whose scopes holds pc: dwarf_getscopes, which also
 * follows the imports of a dwz-compressed unit, into *inner. Not first:
 * GCC's -flto writes inlined instances whose abstract origins are in
 * another unit (the early debug information), and elfutils 0.188's, which
 * looks for an origin in the instance's own unit, then finds no scope at
 * all (and leaks what it allocated). */
static bool imported_scope(Dwfl_Module *mod, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *inner) {
    Dwarf_Die *from_pc = NULL;
    Dwarf_Addr bias;
    int n = dwarf_getscopes(cu, pc, &from_pc);
    Dwarf *dw = n > 0 ? dwfl_module_getdwarf(mod, &bias) : NULL;
    bool found = dw && dwarf_offdie(dw, dwarf_dieoffset(&from_pc[0]), inner) != NULL;
    free(from_pc);
    return found;
}

/* The scopes around `at` in mod (innermost first), following the concrete
 * parents of the innermost one: dwarf_getscopes, past an inlined
 * instance, goes on through its abstract origin's scopes instead of the
 * function it was inlined into (eu-addr2line -i goes the same way). How
 * many, 0 when none (+ ENOMEM when memory was short); *scopes is to be
 * freed. Found level by level (scopes_at), not by dwarf_getscopes_die,
 * which walks the unit from its first die to the one asked for. */
static int concrete_scopes(rc_resolver *r, Dwfl_Module *mod, uintptr_t at, Dwarf_Die **scopes) {
    Dwarf_Addr bias;
    Dwarf_Die *cu = unit_at(&r->units, mod, at, &bias), die;
    *scopes = NULL;
    scope_path p = {0};
    if (cu == NULL)
        return 0;
    if (!scopes_at(r, cu, at - bias, &p)) {
        free(p.die);
        return 0;
    }
    if (p.n == 0) {
        int n = imported_scope(mod, cu, at - bias, &die) ? dwarf_getscopes_die(&die, scopes) : 0;
        return n > 0 ? n : 0;
    }
    for (int i = 0; i < p.n / 2; i++) {
        die = p.die[i];
        p.die[i] = p.die[p.n - 1 - i];
        p.die[p.n - 1 - i] = die;
    }
    *scopes = p.die;
    return p.n;
}

/* The unit whose source file the code at `at` in mod is from, into *out,
 * or NULL: the unit holding it, or in an LTO unit the one its function
 * comes from. */
static Dwarf_Die *source_unit(rc_resolver *r, Dwfl_Module *mod, uintptr_t at, Dwarf_Die *out) {
    Dwarf_Addr bias;
    Dwarf_Die *cu = unit_at(&r->units, mod, at, &bias), fn;
    if (cu && is_lto_unit(cu))
        return scope_under(r, cu, at - bias, &fn) && origin_unit(&fn, out) ? out : NULL;
    if (cu)
        *out = *cu;
    return cu ? out : NULL;
}

/* Whether the inlined instance die, in unit cu, is of the library's code
 * (lib_units). Only link-time optimization inlines code described in
 * another unit; the unit's own never is the library's (its function is not:
 * the walk kept its address). */
static bool library_inline(Dwarf_Die *die, Dwarf_Die *cu) {
    Dwarf_Die origin;
    return atomic_load_explicit(&lib_found, memory_order_acquire) && lib_units.known &&
           origin_unit(die, &origin) && dwarf_dieoffset(&origin) != dwarf_dieoffset(cu) &&
           library_unit(&origin, lib_units.dir, lib_units.dirlen);
}

/* The name of the symbol holding `at` in mod, into *name (NULL when none);
 * false + ENOMEM when libdwfl ran short of memory looking. */
static bool symbol_at(Dwfl_Module *mod, uintptr_t at, const char **name) {
    int saved = errno;
    errno = 0;
    *name = dwfl_module_addrname(mod, at);
    if (*name == NULL && errno == ENOMEM)
        return false;
    errno = saved;
    return true;
}

/* Names functions by their DWARF names (C++'s unmangled, a clone's without
 * its ".constprop.0"), the symbol's when there is none. When functions
 * were inlined at `at`, names the innermost one in out->frame and gives
 * out->outer the frames of their callers, up to the real function: each
 * inlined instance's call site (DW_AT_call_file, DW_AT_call_line) is a
 * frame of the function around it. The frames of the library's inlined
 * code (library_inline) are left out, as its own frames are. Without
 * debug information, out keeps one frame, named by the symbol; false +
 * ENOMEM when memory is short. out->frame.function is NULL on entry. */
static bool expand_inlined(rc_resolver *r, Dwfl_Module *mod, uintptr_t at, Dwarf_Die *source,
                           resolved *out) {
    Dwarf_Die *scopes;
    int n = concrete_scopes(r, mod, at, &scopes);
    unsigned k = 0; /* inlined instances around at */
    for (int i = 0; i < n && dwarf_tag(&scopes[i]) != DW_TAG_subprogram; i++)
        k += dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine;
    Dwarf_Die cu;
    Dwarf_Files *files = NULL;
    size_t nfiles = 0;
    if (k && (dwarf_diecu(&scopes[0], &cu, NULL, NULL) == NULL ||
              dwarf_getsrcfiles(&cu, &files, &nfiles) != 0))
        k = 0;
    rc_frame *frames = k ? calloc(k + 1, sizeof *frames) : NULL; /* out->frame's first */
    if (k && frames == NULL) {
        free(scopes);
        errno = ENOMEM;
        return false;
    }
    rc_frame only; /* without inlined instances */
    rc_frame *named = frames ? frames : &only; /* the frame the next function found is */
    *named = out->frame;
    unsigned j = 0; /* frames kept before named */
    for (int i = 0; i < n; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
            continue;
        const char *name = die_function(&scopes[i]);
        if (name)
            named->function = name;
        if (tag == DW_TAG_subprogram || frames == NULL)
            break;
        Dwarf_Attribute attr;
        Dwarf_Word line = 0, file = 0;
        dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &line);
        dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &file);
        const char *path = file < nfiles ? dwarf_filesrc(files, file, NULL, NULL) : NULL;
        if (!library_inline(&scopes[i], &cu))
            j++; /* else the next frame takes the place of the library's */
        named = &frames[j];
        named->filename = path ? primary_spelling(source, path) : "<unknown>";
        named->lineno = (unsigned)line;
        named->function = NULL; /* until a DWARF name */
    }
    /* the symbol for frames DWARF does not name: looked up only then, as
     * libdwfl searches the whole symbol table for it */
    const char *symbol = NULL;
    bool looked = false;
    for (unsigned i = 0; i <= (frames ? j : 0); i++) {
        rc_frame *f = frames ? &frames[i] : &only;
        if (f->function == NULL && !looked && !(looked = symbol_at(mod, at, &symbol))) {
            free(frames);
            free(scopes);
            return false;
        }
        if (f->function == NULL)
            f->function = symbol;
    }
    out->frame = *(frames ? frames : &only);
    if (frames && j) {
        memmove(frames, frames + 1, j * sizeof *frames);
    } else {
        free(frames);
        frames = NULL;
    }
    out->outer = frames;
    out->nouter = j;
    free(scopes);
    return true;
}
#endif

#ifdef RCGC_HAVE_LIBDW
/* The object holding `at`: its path (the program's read from /proc) and
 * load address, copied while dl_iterate_phdr holds the loader's lock, so a
 * dlclose in another thread cannot take them away meanwhile. */
typedef struct object_at {
    uintptr_t at;
    char path[512];
    uintptr_t base;
    bool found;
} object_at;

static int find_object(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    object_at *o = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || o->at < lo || o->at >= lo + ph->p_memsz)
            continue;
        const char *path = object_path(info, o->path, sizeof o->path);
        if (path == NULL)
            o->path[0] = '\0';
        else if (path != o->path) /* the object's name, copied under the lock */
            snprintf(o->path, sizeof o->path, "%s", path);
        o->base = info->dlpi_addr;
        o->found = true;
        return 1;
    }
    return 0;
}
#endif

#ifdef RCGC_HAVE_LIBDW
/* The source line of `at` in mod: *file (NULL when unknown) and *lineno;
 * false + ENOMEM when memory ran short. libdw answers as if it knew nothing
 * then: errno, cleared before each call, tells the two apart. */
static bool line_at(rc_resolver *r, Dwfl_Module *mod, uintptr_t at, const char **file,
                    int *lineno) {
    *file = NULL;
    *lineno = 0;
    /* no unit holds at: code without debug information between a unit's
     * ranges (GCC's .text.unlikely parts of librcgc.a are linked before
     * the program's own .text), where libdwfl answers the line of the
     * range below, another file's */
    Dwarf_Addr bias;
    errno = 0;
    Dwarf_Die *cu = unit_at(&r->units, mod, at, &bias);
    if (cu == NULL)
        return errno != ENOMEM;
    errno = 0;
    Dwfl_Line *line = dwfl_module_getsrc(mod, at);
    if (line == NULL && errno == ENOMEM)
        return false;
    Dwarf_Die *line_cu = line ? dwfl_linecu(line) : NULL;
    if (line_cu && line_cu->addr == cu->addr) {
        *file = dwfl_lineinfo(line, NULL, lineno, NULL, NULL, NULL);
        return true;
    }
    /* no .debug_aranges (Clang), or code of a unit without them in a gap
     * of another's, where libdwfl answers the line of that unit's range
     * below it (a Clang-built program's, lines of a GCC-built
     * librcgc.a's alloc.c): the unit's own line table */
    errno = 0;
    Dwarf_Line *l = dwarf_getsrc_die(cu, at - bias);
    if (l == NULL)
        return errno != ENOMEM;
    *file = dwarf_linesrc(l, NULL, NULL);
    if (dwarf_lineno(l, lineno) != 0)
        *lineno = 0;
    return true;
}

/* resolve's answer for `at` in mod, a module libdw knows: the line and the
 * inlined callers when the debug information has them, else the function's
 * symbol or the module's path and offset. */
static bool resolve_in_module(rc_resolver *r, Dwfl_Module *mod, uintptr_t at, resolved *res) {
    rc_frame *out = &res->frame;
    if (!module_dwarf(mod))
        return false;
    out->function = NULL;
    const char *file;
    int lineno;
    if (!line_at(r, mod, at, &file, &lineno))
        return false;
    if (file && lineno > 0) {
        Dwarf_Die unit, *source = source_unit(r, mod, at, &unit);
        out->filename = primary_spelling(source, file);
        out->lineno = (unsigned)lineno;
        errno = 0;
        return expand_inlined(r, mod, at, source, res) && errno != ENOMEM;
    }
    if (!symbol_at(mod, at, &out->function))
        return false;
    Dwarf_Addr base;
    const char *path = dwfl_module_info(mod, NULL, &base, NULL, NULL, NULL, NULL, NULL);
    out->filename = out->function ? out->function : format_offset(r, path, base, res->pc);
    return out->filename != NULL;
}
#endif

/* Resolves out->pc without the cache; false + ENOMEM when memory ran short
 * (in libdw, which then answers as if it knew nothing, or for a copy), +
 * EMFILE or ENFILE when the loaded objects' files could not be opened: the
 * answer is not the address's and must not be kept. */
static bool resolve(rc_resolver *r, resolved *res) {
    uintptr_t pc = res->pc, at = pc - 1;
    rc_frame *out = &res->frame;
#ifdef RCGC_HAVE_LIBDW
    int saved = errno;
    /* libelf leaves ENOMEM behind when it reads a file it could not map,
     * and then answers in full: errno is cleared before each call */
    if (r->dwfl == NULL) {
        errno = 0;
        r->dwfl = open_self(&proc_callbacks);
        if (r->dwfl == NULL && short_of(errno))
            return false;
    }
    errno = 0;
    Dwfl_Module *mod = r->dwfl ? dwfl_addrmodule(r->dwfl, at) : NULL;
    if (mod == NULL && errno == ENOMEM)
        return false;
    if (mod) {
        if (!resolve_in_module(r, mod, at, res))
            return false;
        errno = saved;
        return true;
    }
    errno = saved;
    /* In no object libdw knows (the vDSO; code unloaded: none at all). */
    object_at o = {at, {0}, 0, false};
    dl_iterate_phdr(find_object, &o);
    if (o.found)
        out->filename = format_offset(r, o.path, o.base, pc);
    return !o.found || out->filename != NULL;
#else
    /* dladdr's names lie in the object, which a dlclose in another thread
     * may unmap meanwhile: without libdw that window stays. */
    Dl_info info;
    if (dladdr((void *)at, &info) && info.dli_fname) {
        out->function = keep(r, info.dli_sname);
        if (info.dli_sname && out->function == NULL)
            return false;
        out->filename = out->function ? out->function
                                      : format_offset(r, info.dli_fname, (uintptr_t)info.dli_fbase, pc);
        return out->filename != NULL;
    }
    return true;
#endif
}

#ifdef RCGC_HAVE_LIBDW
/* A module of `then`'s file as it was loaded, when the file is still there
 * unchanged (stat); NULL when not, or + ENOMEM when memory is short, +
 * EMFILE or ENFILE when the file could not be opened. */
static Dwfl_Module *gone_module(rc_resolver *r, const code_object *then) {
    for (gone_file *g = r->gone; g; g = g->next)
        if (same_object(g->obj, then))
            return g->mod;
    file_id now = file_id_of(then->path);
    if (!then->file.known || !same_file(&then->file, &now)) {
        errno = 0; /* no shortage: what a call before left must not read as one */
        return NULL;
    }
    gone_file *g = malloc(sizeof *g);
    errno = 0;
    if (g == NULL || (g->dwfl = dwfl_begin(&proc_callbacks)) == NULL) {
        free(g);
        errno = ENOMEM;
        return NULL;
    }
    dwfl_report_begin(g->dwfl);
    g->mod = dwfl_report_elf(g->dwfl, then->path, then->path, -1, then->base, true);
    int err = errno;
    if (dwfl_report_end(g->dwfl, NULL, NULL) != 0 || g->mod == NULL) {
        dwfl_end(g->dwfl);
        free(g);
        errno = short_of(err) ? err : 0;
        return NULL;
    }
    g->obj = then;
    g->next = r->gone;
    r->gone = g;
    return g->mod;
}
#endif

/* resolve's answer for res->pc in `then` (NULL: no object known), an
 * object unloaded since its traceback was taken: its file's lines and
 * functions when the file is still there unchanged, else "file+0xOFFSET"
 * (never what is loaded at the address now); "<unknown>" without one. */
static bool resolve_gone(rc_resolver *r, resolved *res, const code_object *then) {
    if (then == NULL)
        return true;
#ifdef RCGC_HAVE_LIBDW
    Dwfl_Module *mod = gone_module(r, then);
    if (mod == NULL && short_of(errno))
        return false;
    if (mod)
        return resolve_in_module(r, mod, res->pc - 1, res);
#endif
    res->frame.filename = format_offset(r, then->path, then->base, res->pc);
    return res->frame.filename != NULL;
}

/* The stack resolve wants: libdw's reading of a line table (libc's
 * pthread_create.c unit, with libc's debug information installed) took
 * over 112 KiB of it (elfutils 0.188). A caller with less left than
 * RESOLVE_ROOM resolves on a thread of RESOLVE_STACK made for it. */
#define RESOLVE_ROOM ((uintptr_t)512 << 10)
#define RESOLVE_STACK ((size_t)8 << 20)

/* What to resolve: res->pc in the objects loaded now, or (gone) in `then`,
 * the object that held it when the traceback was taken, unloaded since. */
typedef struct resolve_call {
    rc_resolver *r;
    resolved *res;
    bool gone;
    const code_object *then;
    bool ok;
    int err;
} resolve_call;

/* resolve_either's call, under libdw_guarded. */
static bool resolve_call_run(void *arg) {
    resolve_call *c = arg;
    return c->gone ? resolve_gone(c->r, c->res, c->then) : resolve(c->r, c->res);
}

/* Resolves c's address (see resolve_call) into c->res: c->ok, c->err
 * (ENOMEM also when libdw ran out of memory for its own records). A
 * file not opened for want of descriptors (fds_short: a loaded object
 * missing, a module left without its debug file) fails it too. */
static void resolve_either(resolve_call *c) {
    *c->res = (resolved){.pc = c->res->pc};
    fds_short = 0;
#ifdef RCGC_HAVE_LIBDW
    c->ok = libdw_guarded(resolve_call_run, c);
#else
    c->ok = resolve_call_run(c);
#endif
    c->err = errno;
    if (c->ok && fds_short) {
        c->ok = false;
        c->err = fds_short;
    }
}

static void *resolve_thread(void *arg) {
    resolve_either(arg);
    return NULL;
}

/* The lowest address of the calling thread's stack known to be mapped (0:
 * none known yet). */
static __thread uintptr_t stack_mapped_lo;

/* Grows the stack by about `room` bytes below the caller's frame: the
 * kernel maps a growing stack's pages as they are touched. */
static __attribute__((noinline)) void grow_stack(size_t room) {
    volatile char *bottom = __builtin_alloca(room);
    bottom[0] = 0;
}

/* Whether the RESOLVE_ROOM below `here` is stack that resolve may use.
 * A thread's stack is mapped whole; the main thread's grows as it is
 * touched, within RLIMIT_STACK and the address space RLIMIT_AS leaves,
 * and when the kernel cannot grow it the touch is a SIGSEGV: libdw died of
 * it, reading a line table for a snapshot taken by a program near its
 * `ulimit -v` (or one that lowered its stack limit). So when the room is
 * not mapped yet and a limit is set, the limits are checked and the stack
 * grown here, once (it never shrinks); false when it may not grow. */
static bool stack_room_mapped(uintptr_t here) {
    uintptr_t page = (uintptr_t)getpagesize(), low = (here - RESOLVE_ROOM) & ~(page - 1);
    unsigned char resident;
    if (stack_mapped_lo != 0 && low >= stack_mapped_lo)
        return true;
    if (mincore((void *)low, page, &resident) == 0 || errno != ENOMEM) {
        stack_mapped_lo = low;
        return true;
    }
    struct rlimit stack;
    if (getrlimit(RLIMIT_STACK, &stack) != 0 ||
        (stack.rlim_cur != RLIM_INFINITY && stack_hi - low > stack.rlim_cur) ||
        !memory_left(RESOLVE_ROOM, false))
        return false;
    grow_stack(RESOLVE_ROOM);
    stack_mapped_lo = low;
    return true;
}

/* resolve, on a thread of its own when the caller's stack (the thread's,
 * or another, a coroutine's, whose size is unknown) has less than
 * RESOLVE_ROOM left, or the main thread's may not grow that far
 * (stack_room_mapped): a snapshot on a thread made with a 64 KiB stack
 * crashed in libdw (SIGSEGV). The caller waits, so the
 * resolver (and its heap) is still used by one thread at a time. false +
 * ENOMEM as resolve, or when no thread could be made. */
static bool resolve_with_room(resolve_call *c) {
    int err = 0, saved = errno;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0), top = thread_stack(&err);
    if (top == 0 ||
        (here >= stack_lo + RESOLVE_ROOM && here < top && stack_room_mapped(here))) {
        resolve_either(c);
        errno = c->ok ? saved : c->err;
        return c->ok;
    }
    pthread_attr_t attr;
    pthread_t t;
    bool made = pthread_attr_init(&attr) == 0;
    if (made) {
        made = pthread_attr_setstacksize(&attr, RESOLVE_STACK) == 0 &&
               pthread_create(&t, &attr, resolve_thread, c) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!made) {
        errno = ENOMEM;
        return false;
    }
    pthread_join(t, NULL);
    errno = c->ok ? saved : c->err;
    return c->ok;
}

static size_t pc_slot(uintptr_t pc, size_t mask) {
    return (size_t)(((uint64_t)pc * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/* Makes room for one more cache entry; false when memory is short (the
 * result is then returned uncached). */
static bool cache_reserve(rc_resolver *r) {
    if ((r->count + 1) * 2 <= r->mask + 1 && r->cache)
        return true;
    size_t cap = r->cache ? (r->mask + 1) * 2 : 256;
    resolved *cache = calloc(cap, sizeof *cache);
    if (cache == NULL)
        return false;
    for (size_t i = 0; r->cache && i <= r->mask; i++) {
        if (r->cache[i].pc == 0)
            continue;
        size_t j = pc_slot(r->cache[i].pc, cap - 1);
        while (cache[j].pc)
            j = (j + 1) & (cap - 1);
        cache[j] = r->cache[i];
    }
    free(r->cache);
    r->cache = cache;
    r->mask = cap - 1;
    return true;
}

/* Makes f's strings the resolver's copies (libdw's go with their Dwfl);
 * "<unknown>" for a file not known. false + ENOMEM when one could not be
 * copied. */
static bool keep_frame(rc_resolver *r, rc_frame *f) {
    const char *file = keep(r, f->filename), *function = keep(r, f->function);
    if ((f->filename && file == NULL) || (f->function && function == NULL)) {
        errno = ENOMEM;
        return false;
    }
    f->filename = file ? file : "<unknown>";
    f->function = function;
    return true;
}

/* Copies res's frames (inlined callers included) into out[0..max); how
 * many. */
static unsigned frames_of(const resolved *res, rc_frame *out, unsigned max) {
    unsigned n = 0;
    if (n < max)
        out[n++] = res->frame;
    for (unsigned j = 0; j < res->nouter && n < max; j++)
        out[n++] = res->outer[j];
    return n;
}

/* Whether the code at `at` when code table `serial` was made is gone:
 * *then is its object as that table saw it, NULL when none; not gone when
 * loaded with the program, or when the same object is loaded there now. */
static bool unloaded_since(rc_resolver *r, uint32_t serial, uintptr_t at,
                           const code_object **then) {
    const code_table *t = r->then;
    if (t == NULL || t->serial != serial)
        for (t = atomic_load_explicit(&code_now, memory_order_acquire); t && t->serial != serial;)
            t = t->older;
    r->then = t;
    int i = code_find(t, at), j = code_find(r->now, at);
    if (i >= 0 && t->r[i].obj < 0)
        return false;
    *then = i >= 0 ? t->objs[t->r[i].obj] : NULL;
    return *then == NULL || j < 0 || r->now->r[j].obj < 0 ||
           !same_object(*then, r->now->objs[r->now->r[j].obj]);
}

unsigned rc__resolve(rc_resolver *r, uintptr_t pc, uint32_t serial, rc_frame *out,
                     unsigned max) {
    size_t i = 0;
    resolved res = {.pc = pc};
    resolve_call c = {r, &res, false, NULL, false, 0};
    c.gone = serial && unloaded_since(r, serial, pc - 1, &c.then);
    if (r->cache && !c.gone)
        for (i = pc_slot(pc, r->mask); r->cache[i].pc; i = (i + 1) & r->mask)
            if (r->cache[i].pc == pc)
                return frames_of(&r->cache[i], out, max);
    bool ok = false;
    int err = ENOMEM;
    /* twice when short of memory: rcgc reads a libdw call that answers
     * nothing with errno ENOMEM as a shortage, and a malloc inside it may
     * leave ENOMEM in errno and succeed (glibc's with
     * GLIBC_TUNABLES=glibc.malloc.hugetlb=2, when its huge page fails) */
    for (int attempt = 0; attempt < 2 && !ok && err == ENOMEM; attempt++) {
        res = (resolved){.pc = pc};
        ok = resolve_with_room(&c) && keep_frame(r, &res.frame);
        for (unsigned j = 0; ok && j < res.nouter; j++)
            ok = keep_frame(r, &res.outer[j]);
        if (!ok) { /* nothing kept: the next call resolves pc again */
            err = short_of(errno) ? errno : ENOMEM;
            free(res.outer);
#ifdef RCGC_HAVE_LIBDW
            /* libdwfl remembers a module it failed to read: a new Dwfl then */
            end_dwfl(r);
#endif
        }
    }
    if (!ok) {
        errno = err;
        return 0;
    }
    unsigned n = frames_of(&res, out, max);
    if (c.gone || !cache_reserve(r)) { /* not the address's now */
        free(res.outer);
        return n;
    }
    for (i = pc_slot(pc, r->mask); r->cache[i].pc; i = (i + 1) & r->mask)
        ;
    r->cache[i] = res;
    r->count++;
    return n;
}
