/*
 * snapshot.c — snapshots of traces: statistics, differences, filters,
 * CPython's text, and the dump file (format in docs/tracemalloc.md).
 *
 * A snapshot is immutable once sealed and owns everything it points to
 * (malloc'ed; it may outlive the heap it came from):
 *   strings     interned by content in an arena; each is preceded by a
 *               str_head (hash, length, filename frame), so a string's
 *               equality with another snapshot's costs a compare of heads.
 *   tracebacks  rc_traceback records, frames most recent first, pointing
 *               into one frame array; each stored once (the tracer's
 *               tracebacks of different return addresses on one line show
 *               the same frames: one record here).
 *   traces      {size, domain, traceback index}.
 *   file_frames one frame {filename, 0} per distinct filename: the key of
 *               RC_KEY_FILENAME statistics.
 * Grouping follows Lib/tracemalloc.py: keys compare by (filename, lineno)
 * of their frames only (never the function or total_nframe), and key
 * tracebacks carry total_nframe 0 (Python's None).
 */
#define _GNU_SOURCE
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct str_head {
    uint32_t hash, len;
    uint32_t file_frame; /* 1 + index in file_frames, 0 if not a filename */
    uint32_t pad;
} str_head;

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) char data[];
} chunk;

typedef struct snap_trace {
    size_t size;
    uint32_t domain, tb;
} snap_trace;

/* What tb_slot needs of a traceback while a snapshot is built: where its
 * frames start (they may move as the array grows) and its hash, compared
 * first and used again when the index grows, where each traceback's frames
 * were read again to hash them (1M distinct tracebacks of 8 frames: a
 * snapshot 0.73-0.75 -> 0.54-0.57 s, a load 0.84-1.05 -> 0.66-0.67 s; the
 * index's misses are most of what is left). */
typedef struct tb_built {
    size_t first;
    uint32_t hash;
} tb_built;

struct rc_snapshot {
    unsigned traceback_limit;
    size_t untraced;
    chunk *arena;
    const char **strset;  /* interned strings, NULL free; at most half full */
    size_t nstrings, strset_cap;
    rc_traceback *tbs;
    size_t ntbs, tbs_cap;
    tb_built *built;      /* while building: each traceback's frames and hash */
    size_t built_cap;
    uint32_t *tb_set;     /* while building: 1 + index of each traceback by content,
                             0 free; at most half full */
    size_t tb_set_cap;
    rc_frame *frames;
    size_t nframes, frames_cap;
    snap_trace *traces;
    size_t ntraces, traces_cap;
    rc_frame *file_frames;
    size_t nfiles;
};

static const str_head *head_of(const char *s) {
    return (const str_head *)s - 1;
}

uint32_t rc__hash_bytes(const char *s, size_t len) {
    uint32_t x = 2166136261u;
    for (size_t i = 0; i < len; i++)
        x = (x ^ (unsigned char)s[i]) * 16777619u;
    return x;
}

/* Equality of two interned strings, of this snapshot or another. */
static bool str_eq(const char *a, const char *b) {
    if (a == b)
        return true;
    const str_head *x = head_of(a), *y = head_of(b);
    return x->hash == y->hash && x->len == y->len && memcmp(a, b, x->len) == 0;
}

/* Grows *arr to hold need elements; 0 or -1 ENOMEM. */
static int reserve(void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = ncap <= SIZE_MAX / elem ? realloc(*arr, ncap * elem) : NULL;
    if (p == NULL) {
        errno = ENOMEM;
        return -1;
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ------------------------------------------------------------- building */

rc_snapshot *rc__snapshot_new(unsigned traceback_limit, size_t untraced) {
    rc_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    s->traceback_limit = traceback_limit;
    s->untraced = untraced;
    return s;
}

void rc_snapshot_free(rc_snapshot *s) {
    if (s == NULL)
        return;
    for (chunk *c = s->arena, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(s->strset);
    free(s->tbs);
    free(s->built);
    free(s->tb_set);
    free(s->frames);
    free(s->traces);
    free(s->file_frames);
    free(s);
}

/* Room for n bytes (16-aligned) in the arena; NULL + ENOMEM. */
static char *arena_alloc(rc_snapshot *s, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (s->arena == NULL || s->arena->cap - s->arena->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        chunk *c = malloc(sizeof *c + cap);
        if (c == NULL) {
            errno = ENOMEM;
            return NULL;
        }
        c->next = s->arena;
        c->used = 0;
        c->cap = cap;
        s->arena = c;
    }
    char *p = s->arena->data + s->arena->used;
    s->arena->used += n;
    return p;
}

const char *rc__snapshot_string(rc_snapshot *s, const char *str, size_t len) {
    if (len > UINT32_MAX - 64) {
        errno = ENOMEM;
        return NULL;
    }
    uint32_t hash = rc__hash_bytes(str, len);
    size_t mask = s->strset_cap - 1;
    if (s->strset_cap)
        for (size_t i = hash & mask; s->strset[i]; i = (i + 1) & mask) {
            const char *t = s->strset[i];
            if (head_of(t)->hash == hash && head_of(t)->len == len && memcmp(t, str, len) == 0)
                return t;
        }
    if ((s->nstrings + 1) * 2 > s->strset_cap) {
        size_t cap = s->strset_cap ? s->strset_cap * 2 : 64;
        const char **set = calloc(cap, sizeof *set);
        if (set == NULL) {
            errno = ENOMEM;
            return NULL;
        }
        for (size_t k = 0; k < s->strset_cap; k++) {
            const char *t = s->strset[k];
            if (t == NULL)
                continue;
            size_t j = head_of(t)->hash & (cap - 1);
            while (set[j])
                j = (j + 1) & (cap - 1);
            set[j] = t;
        }
        free(s->strset);
        s->strset = set;
        s->strset_cap = cap;
    }
    char *p = arena_alloc(s, sizeof(str_head) + len + 1);
    if (p == NULL)
        return NULL;
    *(str_head *)p = (str_head){hash, (uint32_t)len, 0, 0};
    char *t = p + sizeof(str_head);
    memcpy(t, str, len);
    t[len] = '\0';
    size_t i = hash & (s->strset_cap - 1);
    while (s->strset[i])
        i = (i + 1) & (s->strset_cap - 1);
    s->strset[i] = t;
    s->nstrings++;
    return t;
}

/* Hash of a traceback being added: its frames' strings are interned, so
 * their heads' hashes stand for their contents. */
static uint32_t tb_hash(const rc_frame *frames, unsigned nframe, unsigned total_nframe) {
    uint64_t x = (uint64_t)nframe << 32 ^ total_nframe;
    for (unsigned i = 0; i < nframe; i++) {
        uint32_t func = frames[i].function ? head_of(frames[i].function)->hash : 0;
        x = (x ^ head_of(frames[i].filename)->hash) * 0x9E3779B97F4A7C15ull;
        x = (x ^ frames[i].lineno ^ (uint64_t)func << 32) * 0xC2B2AE3D27D4EB4Full;
    }
    return (uint32_t)(x >> 32);
}

/* The slot of s->tb_set (cap > 0) that holds the traceback equal to
 * frames[0..nframe) and total_nframe in every field, or the free one where
 * it goes. Strings are interned: equal pointers are equal names. */
static size_t tb_slot(const rc_snapshot *s, uint32_t hash, const rc_frame *frames,
                      unsigned nframe, unsigned total_nframe) {
    size_t mask = s->tb_set_cap - 1, i = hash & mask;
    for (; s->tb_set[i]; i = (i + 1) & mask) {
        size_t t = s->tb_set[i] - 1;
        if (s->built[t].hash != hash || s->tbs[t].nframe != nframe ||
            s->tbs[t].total_nframe != total_nframe)
            continue;
        const rc_frame *f = &s->frames[s->built[t].first];
        unsigned k = 0;
        while (k < nframe && f[k].filename == frames[k].filename &&
               f[k].lineno == frames[k].lineno && f[k].function == frames[k].function)
            k++;
        if (k == nframe)
            return i;
    }
    return i;
}

/* Room for one entry more than n in an open-addressing index of *cap
 * slots (1 + an entry's place, 0 free; a power of two, or 0), kept at most
 * half full: 1 when *slots is a new, larger one, all free (the caller puts
 * its n entries back), 0 when it had room, -1 + ENOMEM (*slots as it was). */
static int index_grow(uint32_t **slots, size_t *cap, size_t n) {
    if ((n + 1) * 2 <= *cap)
        return 0;
    size_t grown_cap = *cap ? 2 * *cap : 64;
    uint32_t *grown = calloc(grown_cap, sizeof *grown);
    if (grown == NULL) {
        errno = ENOMEM;
        return -1;
    }
    free(*slots);
    *slots = grown;
    *cap = grown_cap;
    return 1;
}

/* Room in s->tb_set for one traceback more; -1 + ENOMEM. */
static int tb_set_reserve(rc_snapshot *s) {
    int rc = index_grow(&s->tb_set, &s->tb_set_cap, s->ntbs);
    size_t mask = s->tb_set_cap - 1;
    for (size_t t = 0; rc == 1 && t < s->ntbs; t++) { /* all distinct */
        size_t i = s->built[t].hash & mask;
        while (s->tb_set[i])
            i = (i + 1) & mask;
        s->tb_set[i] = (uint32_t)(t + 1);
    }
    return rc < 0 ? -1 : 0;
}

/* Identical tracebacks are stored once (as the tracer interns them; two
 * of its tracebacks may show the same frames: different return addresses
 * on one line): the index of the equal one, if any. */
int64_t rc__snapshot_add_traceback(rc_snapshot *s, const rc_frame *frames, unsigned nframe,
                                   unsigned total_nframe) {
    if (s->ntbs >= UINT32_MAX - 1 || nframe == 0 || nframe > RC_TRACEMALLOC_MAX_NFRAME) {
        errno = nframe == 0 || nframe > RC_TRACEMALLOC_MAX_NFRAME ? EINVAL : ENOMEM;
        return -1;
    }
    if (tb_set_reserve(s) < 0)
        return -1;
    uint32_t hash = tb_hash(frames, nframe, total_nframe);
    size_t slot = tb_slot(s, hash, frames, nframe, total_nframe);
    if (s->tb_set[slot])
        return s->tb_set[slot] - 1;
    if (reserve((void **)&s->frames, &s->frames_cap, s->nframes + nframe, sizeof *s->frames) < 0 ||
        reserve((void **)&s->tbs, &s->tbs_cap, s->ntbs + 1, sizeof *s->tbs) < 0 ||
        reserve((void **)&s->built, &s->built_cap, s->ntbs + 1, sizeof *s->built) < 0)
        return -1;
    memcpy(&s->frames[s->nframes], frames, nframe * sizeof *frames);
    s->tbs[s->ntbs] = (rc_traceback){nframe, total_nframe, NULL};
    s->built[s->ntbs] = (tb_built){s->nframes, hash};
    s->nframes += nframe;
    s->tb_set[slot] = (uint32_t)(s->ntbs + 1);
    return (int64_t)s->ntbs++;
}

int rc__snapshot_add_trace(rc_snapshot *s, unsigned domain, uint32_t traceback, size_t size) {
    if (reserve((void **)&s->traces, &s->traces_cap, s->ntraces + 1, sizeof *s->traces) < 0)
        return -1;
    s->traces[s->ntraces++] = (snap_trace){size, domain, traceback};
    return 0;
}

/* Points the tracebacks at their frames and gives every filename its
 * lineno-0 frame. */
int rc__snapshot_seal(rc_snapshot *s) {
    for (size_t i = 0; i < s->ntbs; i++)
        s->tbs[i].frames = s->frames + s->built[i].first;
    free(s->built);
    s->built = NULL;
    free(s->tb_set);
    s->tb_set = NULL;
    s->tb_set_cap = 0;
    size_t cap = 0;
    for (size_t i = 0; i < s->nframes; i++) {
        str_head *h = (str_head *)head_of(s->frames[i].filename);
        if (h->file_frame)
            continue;
        if (reserve((void **)&s->file_frames, &cap, s->nfiles + 1, sizeof *s->file_frames) < 0)
            return -1;
        s->file_frames[s->nfiles] = (rc_frame){s->frames[i].filename, 0, NULL};
        h->file_frame = (uint32_t)++s->nfiles;
    }
    return 0;
}

size_t rc_snapshot_trace_count(const rc_snapshot *s) {
    return s ? s->ntraces : 0;
}

int rc_snapshot_get_trace(const rc_snapshot *s, size_t i, rc_trace *out) {
    if (s == NULL || out == NULL || i >= s->ntraces) {
        errno = EINVAL;
        return -1;
    }
    const snap_trace *t = &s->traces[i];
    *out = (rc_trace){t->domain, t->size, s->tbs[t->tb]};
    return 0;
}

int rc_snapshot_traceback_limit(const rc_snapshot *s) {
    if (s == NULL) {
        errno = EINVAL;
        return -1;
    }
    return (int)s->traceback_limit;
}

static int domain_cmp(const void *a, const void *b) {
    unsigned x = ((const rc_domain_total *)a)->domain, y = ((const rc_domain_total *)b)->domain;
    return (x > y) - (x < y);
}

/* a + b, or SIZE_MAX past it: totals of sizes given to rc_tracemalloc_track
 * (or read from a file) may not fit, and a wrapped total would look small. */
static inline size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* rc__snapshot_info's index from a domain to its place in the totals:
 * open addressing on the domain, 1 + the place (0: free), at most half
 * full. (A linear search per run of one domain was O(domains^2) for a
 * snapshot with many, each its own run, and O(traces x domains) for a file
 * whose domains alternate.) */
typedef struct domain_index {
    uint32_t *slot;
    size_t cap; /* a power of two, or 0 */
} domain_index;

/* The slot of domain in ix (cap > 0): the one naming it in totals, or the
 * free one where it goes. */
static size_t domain_slot(const domain_index *ix, const rc_domain_total *totals,
                          unsigned domain) {
    /* the product's high half, where every bit of the domain counts (its
     * low bits left domains that differ only above them, i << 16, on a few
     * slots: quadratic again) */
    size_t i = (size_t)(((uint64_t)domain * 0x9E3779B97F4A7C15ull) >> 32) & (ix->cap - 1);
    while (ix->slot[i] && totals[ix->slot[i] - 1].domain != domain)
        i = (i + 1) & (ix->cap - 1);
    return i;
}

/* Room in ix for one domain more than the n of totals; -1 + ENOMEM. */
static int domain_index_reserve(domain_index *ix, const rc_domain_total *totals, size_t n) {
    int rc = index_grow(&ix->slot, &ix->cap, n);
    for (size_t k = 0; rc == 1 && k < n; k++)
        ix->slot[domain_slot(ix, totals, totals[k].domain)] = (uint32_t)(k + 1);
    return rc < 0 ? -1 : 0;
}

int rc__snapshot_info(const rc_snapshot *s, rc_snapshot_info *out) {
    if (s == NULL || out == NULL) {
        errno = EINVAL;
        return -1;
    }
    *out = (rc_snapshot_info){s->traceback_limit, s->ntraces, 0, s->ntbs, s->untraced, 0, NULL};
    domain_index ix = {NULL, 0};
    size_t cap = 0, d = 0;
    for (size_t i = 0; i < s->ntraces; i++) {
        const snap_trace *t = &s->traces[i];
        out->size = add_sat(out->size, t->size);
        /* a snapshot's traces come domain by domain: the last one first */
        if (d == out->ndomains || out->domains[d].domain != t->domain) {
            if (domain_index_reserve(&ix, out->domains, out->ndomains) < 0 ||
                reserve((void **)&out->domains, &cap, out->ndomains + 1, sizeof *out->domains) < 0) {
                free(ix.slot);
                free(out->domains);
                out->domains = NULL;
                out->ndomains = 0;
                return -1;
            }
            size_t k = domain_slot(&ix, out->domains, t->domain);
            if (ix.slot[k] == 0) {
                out->domains[out->ndomains++] = (rc_domain_total){t->domain, 0, 0};
                ix.slot[k] = (uint32_t)out->ndomains;
            }
            d = ix.slot[k] - 1;
        }
        out->domains[d].traces++;
        out->domains[d].size = add_sat(out->domains[d].size, t->size);
    }
    free(ix.slot);
    if (out->ndomains)
        qsort(out->domains, out->ndomains, sizeof *out->domains, domain_cmp);
    return 0;
}

/* ------------------------------------------------------------ grouping */

/* A statistic being summed: its key traceback and totals. */
typedef struct group {
    rc_traceback key;
    uint32_t hash;
    size_t size, count;
} group;

typedef struct grouping {
    group *g;
    size_t n, cap;
    uint32_t *set; /* 1 + group index, 0 free; at most half full */
    size_t set_cap;
} grouping;

static uint32_t key_hash(const rc_traceback *k) {
    uint64_t x = k->nframe;
    for (unsigned i = 0; i < k->nframe; i++)
        x = ((x ^ head_of(k->frames[i].filename)->hash) * 0x9E3779B97F4A7C15ull) ^
            k->frames[i].lineno;
    x *= 0xC2B2AE3D27D4EB4Full;
    return (uint32_t)(x >> 32);
}

static bool key_eq(const rc_traceback *a, const rc_traceback *b) {
    if (a->nframe != b->nframe)
        return false;
    for (unsigned i = 0; i < a->nframe; i++)
        if (a->frames[i].lineno != b->frames[i].lineno ||
            !str_eq(a->frames[i].filename, b->frames[i].filename))
            return false;
    return true;
}

/* The group of key in gr, or NULL. */
static group *group_find(const grouping *gr, const rc_traceback *key, uint32_t hash) {
    if (gr->set_cap == 0)
        return NULL;
    for (size_t i = hash & (gr->set_cap - 1); gr->set[i]; i = (i + 1) & (gr->set_cap - 1)) {
        group *g = &gr->g[gr->set[i] - 1];
        if (g->hash == hash && key_eq(&g->key, key))
            return g;
    }
    return NULL;
}

/* The free slot of gr->set where an entry of this hash goes. */
static size_t group_free_slot(const grouping *gr, uint32_t hash) {
    size_t j = hash & (gr->set_cap - 1);
    while (gr->set[j])
        j = (j + 1) & (gr->set_cap - 1);
    return j;
}

/* Adds (size, count) to key's group, made if new; 0 or -1 ENOMEM. */
static int group_add(grouping *gr, rc_traceback key, size_t size, size_t count) {
    uint32_t hash = key_hash(&key);
    group *g = group_find(gr, &key, hash);
    if (g == NULL) {
        int grown = index_grow(&gr->set, &gr->set_cap, gr->n);
        if (grown < 0)
            return -1;
        for (size_t k = 0; grown == 1 && k < gr->n; k++)
            gr->set[group_free_slot(gr, gr->g[k].hash)] = (uint32_t)(k + 1);
        if (reserve((void **)&gr->g, &gr->cap, gr->n + 1, sizeof *gr->g) < 0)
            return -1;
        gr->set[group_free_slot(gr, hash)] = (uint32_t)(gr->n + 1);
        g = &gr->g[gr->n++];
        *g = (group){key, hash, 0, 0};
    }
    g->size = add_sat(g->size, size);
    g->count += count;
    return 0;
}

static void grouping_free(grouping *gr) {
    free(gr->g);
    free(gr->set);
}

/* The key traceback of frame f for key type (lineno or filename). */
static rc_traceback frame_key(const rc_snapshot *s, const rc_frame *f, rc_key_type key) {
    if (key == RC_KEY_FILENAME)
        f = &s->file_frames[head_of(f->filename)->file_frame - 1];
    return (rc_traceback){1, 0, f};
}

/* Snapshot._group_by: the traces summed per traceback first (a snapshot
 * has far fewer tracebacks than traces), then per key. */
static int group_by(const rc_snapshot *s, rc_key_type key, bool cumulative, grouping *gr) {
    memset(gr, 0, sizeof *gr);
    if ((unsigned)key > RC_KEY_TRACEBACK || (cumulative && key == RC_KEY_TRACEBACK)) {
        errno = EINVAL;
        return -1;
    }
    size_t *sum = calloc(s->ntbs ? 2 * s->ntbs : 1, sizeof *sum);
    if (sum == NULL) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < s->ntraces; i++) {
        sum[2 * s->traces[i].tb] = add_sat(sum[2 * s->traces[i].tb], s->traces[i].size);
        sum[2 * s->traces[i].tb + 1]++;
    }
    int rc = 0;
    for (size_t t = 0; t < s->ntbs && rc == 0; t++) {
        const rc_traceback *tb = &s->tbs[t];
        size_t size = sum[2 * t], count = sum[2 * t + 1];
        if (count == 0)
            continue;
        if (cumulative)
            for (unsigned i = 0; i < tb->nframe && rc == 0; i++)
                rc = group_add(gr, frame_key(s, &tb->frames[i], key), size, count);
        else if (key == RC_KEY_TRACEBACK)
            rc = group_add(gr, (rc_traceback){tb->nframe, 0, tb->frames}, size, count);
        else
            rc = group_add(gr, frame_key(s, &tb->frames[0], key), size, count);
    }
    free(sum);
    if (rc < 0)
        grouping_free(gr);
    return rc;
}

/* The next code point of [*p, end), as Python's strict UTF-8 decoder with
 * surrogateescape reads it (os.fsdecode): a well-formed sequence (no
 * overlong form, no surrogate, nothing past U+10FFFF) is its code point;
 * any other byte stands for itself as U+DC80..U+DCFF, one at a time. */
static uint32_t next_cp(const unsigned char **pp, const unsigned char *end) {
    const unsigned char *p = *pp;
    unsigned c = *p;
    unsigned need = c >= 0xF0 && c < 0xF5   ? 3
                    : c >= 0xE0 && c < 0xF0 ? 2
                    : c >= 0xC2 && c < 0xE0 ? 1
                                            : 0;
    if (c < 0x80) {
        *pp = p + 1;
        return c;
    }
    /* the second byte's range excludes overlong forms, surrogates and
     * code points past U+10FFFF */
    unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    bool ok = need > 0 && (size_t)(end - p) > need && p[1] >= lo && p[1] <= hi;
    uint32_t cp = c & (0x3F >> need);
    for (unsigned k = 1; k <= need && ok; k++) {
        ok = (p[k] & 0xC0) == 0x80;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (!ok) {
        *pp = p + 1;
        return 0xDC00 + c;
    }
    *pp = p + need + 1;
    return cp;
}

/* Python's str order of two file names (code points, as next_cp decodes
 * them). Byte order is the same unless a name is not valid UTF-8: then an
 * escaped byte (U+DC80..U+DCFF) sorts after U+0080..U+DBFF and before
 * U+E000 and up, whatever its byte value. */
static int name_cmp(const char *a, const char *b) {
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x < 0x80 && y < 0x80) /* both cut any sequence before them short */
        return (x > y) - (x < y);
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    const unsigned char *pe = p + i + strlen(a + i), *qe = q + i + strlen(b + i);
    while (p < pe && q < qe) {
        uint32_t u = next_cp(&p, pe), v = next_cp(&q, qe);
        if (u != v)
            return u < v ? -1 : 1;
    }
    return (p < pe) - (q < qe);
}

/* Traceback order of Python: tuples of (filename, lineno), oldest first. */
static int traceback_cmp(const rc_traceback *a, const rc_traceback *b) {
    unsigned n = a->nframe < b->nframe ? a->nframe : b->nframe;
    for (unsigned i = 0; i < n; i++) {
        const rc_frame *x = &a->frames[a->nframe - 1 - i], *y = &b->frames[b->nframe - 1 - i];
        if (x->filename != y->filename) {
            int c = name_cmp(x->filename, y->filename);
            if (c)
                return c;
        }
        if (x->lineno != y->lineno)
            return x->lineno < y->lineno ? -1 : 1;
    }
    return (a->nframe > b->nframe) - (a->nframe < b->nframe);
}

#define CMP_DESC(x, y) do { if ((x) != (y)) return (x) < (y) ? 1 : -1; } while (0)

/* Statistic._sort_key, descending. */
static int statistic_cmp(const void *pa, const void *pb) {
    const rc_statistic *a = pa, *b = pb;
    CMP_DESC(a->size, b->size);
    CMP_DESC(a->count, b->count);
    return -traceback_cmp(&a->traceback, &b->traceback);
}

static unsigned long long magnitude(long long v) {
    return v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
}

/* StatisticDiff._sort_key, descending. */
static int diff_cmp(const void *pa, const void *pb) {
    const rc_statistic_diff *a = pa, *b = pb;
    CMP_DESC(magnitude(a->size_diff), magnitude(b->size_diff));
    CMP_DESC(a->size, b->size);
    CMP_DESC(magnitude(a->count_diff), magnitude(b->count_diff));
    CMP_DESC(a->count, b->count);
    return -traceback_cmp(&a->traceback, &b->traceback);
}

rc_statistic *rc_snapshot_statistics(const rc_snapshot *s, rc_key_type key, bool cumulative,
                                     size_t *count) {
    grouping gr;
    if (s == NULL || count == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (group_by(s, key, cumulative, &gr) < 0)
        return NULL;
    rc_statistic *st = malloc(gr.n ? gr.n * sizeof *st : 1);
    if (st) {
        for (size_t i = 0; i < gr.n; i++)
            st[i] = (rc_statistic){gr.g[i].key, gr.g[i].size, gr.g[i].count};
        qsort(st, gr.n, sizeof *st, statistic_cmp);
        *count = gr.n;
    } else {
        errno = ENOMEM;
    }
    grouping_free(&gr);
    return st;
}

/* now - before as a long long, held at LLONG_MAX or LLONG_MIN where it does
 * not fit (sizes past 2^63 come only from rc_tracemalloc_track; Python's
 * integers have no such limit). */
static long long difference(size_t now, size_t before) {
    if (now >= before)
        return now - before > (size_t)LLONG_MAX ? LLONG_MAX : (long long)(now - before);
    return before - now > (size_t)LLONG_MAX ? LLONG_MIN : -(long long)(before - now);
}

rc_statistic_diff *rc_snapshot_compare_to(const rc_snapshot *s, const rc_snapshot *old,
                                          rc_key_type key, bool cumulative, size_t *count) {
    grouping now, then;
    if (s == NULL || old == NULL || count == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (group_by(s, key, cumulative, &now) < 0)
        return NULL;
    if (group_by(old, key, cumulative, &then) < 0) {
        grouping_free(&now);
        return NULL;
    }
    size_t n = 0, total = now.n + then.n;
    rc_statistic_diff *d = malloc(total ? total * sizeof *d : 1);
    bool *matched = calloc(then.n ? then.n : 1, sizeof *matched);
    if (d && matched) {
        for (size_t i = 0; i < now.n; i++) {
            const group *g = &now.g[i];
            const group *p = group_find(&then, &g->key, g->hash);
            size_t psize = p ? p->size : 0, pcount = p ? p->count : 0;
            if (p)
                matched[p - then.g] = true;
            d[n++] = (rc_statistic_diff){g->key, g->size, difference(g->size, psize), g->count,
                                         difference(g->count, pcount)};
        }
        for (size_t i = 0; i < then.n; i++)
            if (!matched[i])
                d[n++] = (rc_statistic_diff){then.g[i].key, 0, difference(0, then.g[i].size), 0,
                                             difference(0, then.g[i].count)};
        qsort(d, n, sizeof *d, diff_cmp);
        *count = n;
    } else {
        free(d);
        d = NULL;
        errno = ENOMEM;
    }
    free(matched);
    grouping_free(&now);
    grouping_free(&then);
    return d;
}

/* ------------------------------------------------------------- filters */

/* fnmatch.fnmatch as Python 3.12 has it on POSIX (no case folding, no
 * escapes, '*' crosses '/'), over code points: UTF-8 is decoded, and a byte
 * that is not valid UTF-8 stands for itself as U+DC80..U+DCFF (Python's
 * surrogateescape), so any bytes match something. */
enum { TOK_CHAR, TOK_ANY, TOK_STAR, TOK_SET, TOK_NONE };

typedef struct pat_tok {
    uint8_t kind;
    bool negate;     /* TOK_SET */
    uint32_t c;      /* TOK_CHAR */
    uint32_t first;  /* TOK_SET: ranges[first .. first + n) */
    uint32_t n;
} pat_tok;

typedef struct pattern {
    pat_tok *toks;
    size_t ntoks;
    uint32_t (*ranges)[2];
    size_t nranges, ranges_cap;
} pattern;

/* Decodes s[0..len) into out (room for len code points); returns the count. */
static size_t decode(const char *s, size_t len, uint32_t *out) {
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t n = 0;
    while (p < end)
        out[n++] = next_cp(&p, end);
    return n;
}

/* Length tracemalloc matches on: "x.pyc" is taken as "x.py". */
static size_t normalized_len(const char *s) {
    size_t len = strlen(s);
    return len >= 4 && memcmp(s + len - 4, ".pyc", 4) == 0 ? len - 1 : len;
}

/* One bracket expression: its code points c[0..n) between '[' and ']'.
 * fnmatch.translate cuts the set into chunks at each '-' that can make a
 * range (not the first member, at least three apart, not the last
 * character), then, right to left, drops each range whose ends are
 * reversed together with both ends; a leading '!' (after that) negates,
 * and every other character is literal. As separators are three apart, a
 * range's ends are always the characters right next to its '-'. */
enum { ROLE_LITERAL, ROLE_GONE, ROLE_RANGE };

static int compile_set(pattern *pt, const uint32_t *c, size_t n, pat_tok *tok) {
    uint8_t *role = calloc(n, 1);
    if (role == NULL ||
        reserve((void **)&pt->ranges, &pt->ranges_cap, pt->nranges + n, sizeof *pt->ranges) < 0) {
        free(role);
        errno = ENOMEM;
        return -1;
    }
    for (size_t k = c[0] == '!' ? 2 : 1; k + 1 < n; k++)
        if (c[k] == '-') {
            role[k] = ROLE_RANGE;
            k += 2;
        }
    for (size_t k = n; k-- > 1;)
        if (role[k] == ROLE_RANGE && c[k - 1] > c[k + 1])
            role[k - 1] = role[k] = role[k + 1] = ROLE_GONE;
    size_t first = 0;
    while (first < n && role[first] == ROLE_GONE)
        first++;
    tok->negate = first < n && c[first] == '!';
    if (tok->negate) {
        role[first] = ROLE_GONE;
        if (first + 1 < n && role[first + 1] == ROLE_RANGE)
            role[first + 1] = ROLE_LITERAL; /* "[^-x]": the '-' is literal */
    }
    tok->first = (uint32_t)pt->nranges;
    for (size_t k = 0; k < n; k++) {
        bool end = (k > 0 && role[k - 1] == ROLE_RANGE) || (k + 1 < n && role[k + 1] == ROLE_RANGE);
        if (role[k] == ROLE_RANGE) {
            pt->ranges[pt->nranges][0] = c[k - 1];
            pt->ranges[pt->nranges++][1] = c[k + 1];
        } else if (role[k] == ROLE_LITERAL && !end) {
            pt->ranges[pt->nranges][0] = pt->ranges[pt->nranges][1] = c[k];
            pt->nranges++;
        }
    }
    tok->n = (uint32_t)(pt->nranges - tok->first);
    /* an empty set never matches; an empty negated one matches anything */
    tok->kind = tok->n ? TOK_SET : tok->negate ? TOK_ANY : TOK_NONE;
    free(role);
    return 0;
}

static void pattern_free(pattern *pt) {
    free(pt->toks);
    free(pt->ranges);
}

/* fnmatch.translate's reading of pat, as tokens; 0 or -1 ENOMEM (pt then
 * holds nothing). */
static int compile_pattern(const char *pat, pattern *pt) {
    memset(pt, 0, sizeof *pt);
    size_t len = normalized_len(pat);
    uint32_t *c = malloc((len ? len : 1) * sizeof *c);
    pt->toks = malloc((len ? len : 1) * sizeof *pt->toks);
    if (c == NULL || pt->toks == NULL) {
        free(c);
        free(pt->toks);
        errno = ENOMEM;
        return -1;
    }
    size_t n = decode(pat, len, c), i = 0;
    while (i < n) {
        uint32_t ch = c[i++];
        pat_tok *t = &pt->toks[pt->ntoks];
        *t = (pat_tok){TOK_CHAR, false, ch, 0, 0};
        if (ch == '*') {
            if (pt->ntoks && pt->toks[pt->ntoks - 1].kind == TOK_STAR)
                continue;
            t->kind = TOK_STAR;
        } else if (ch == '?') {
            t->kind = TOK_ANY;
        } else if (ch == '[') {
            size_t j = i;
            if (j < n && c[j] == '!')
                j++;
            if (j < n && c[j] == ']')
                j++;
            while (j < n && c[j] != ']')
                j++;
            if (j < n) {
                if (compile_set(pt, c + i, j - i, t) < 0) {
                    free(c);
                    pattern_free(pt);
                    return -1;
                }
                i = j + 1;
            }
        }
        pt->ntoks++;
    }
    free(c);
    return 0;
}

static bool tok_match(const pattern *pt, const pat_tok *t, uint32_t c) {
    switch (t->kind) {
    case TOK_CHAR: return c == t->c;
    case TOK_ANY: return true;
    case TOK_SET:
        for (uint32_t i = 0; i < t->n; i++)
            if (c >= pt->ranges[t->first + i][0] && c <= pt->ranges[t->first + i][1])
                return !t->negate;
        return t->negate;
    default: return false;
    }
}

/* Whole-string glob match; '*' backtracks to its latest position only,
 * which is exact because every other token matches one code point. */
static bool glob(const pattern *pt, const uint32_t *s, size_t n) {
    size_t ti = 0, si = 0, star = SIZE_MAX, star_si = 0;
    while (si < n) {
        if (ti < pt->ntoks && pt->toks[ti].kind == TOK_STAR) {
            star = ti++;
            star_si = si;
        } else if (ti < pt->ntoks && tok_match(pt, &pt->toks[ti], s[si])) {
            ti++;
            si++;
        } else if (star != SIZE_MAX) {
            ti = star + 1;
            si = ++star_si;
        } else {
            return false;
        }
    }
    while (ti < pt->ntoks && pt->toks[ti].kind == TOK_STAR)
        ti++;
    return ti == pt->ntoks;
}

/* Filter._match_frame_impl; -1 ENOMEM. The pattern's verdict on each of
 * the snapshot's filenames is kept in memo (a byte per distinct filename,
 * file_frame's index: 0 not yet, 1 no, 2 yes): a snapshot has few files
 * and many frames (100 filters on all frames of a million traces of 25
 * frames took 60 s). */
static int frame_matches(const rc_filter *f, const pattern *pt, const rc_frame *fr,
                         uint8_t *memo) {
    if (f->lineno != 0 && fr->lineno != f->lineno)
        return 0;
    uint32_t file = head_of(fr->filename)->file_frame;
    if (file && memo[file - 1])
        return memo[file - 1] - 1;
    size_t len = normalized_len(fr->filename);
    uint32_t *c = malloc((len ? len : 1) * sizeof *c);
    if (c == NULL) {
        errno = ENOMEM;
        return -1;
    }
    bool m = glob(pt, c, decode(fr->filename, len, c));
    free(c);
    if (file)
        memo[file - 1] = (uint8_t)(m + 1);
    return m;
}

/* Filter._match_traceback; -1 ENOMEM. */
static int traceback_matches(const rc_filter *f, const pattern *pt, const rc_traceback *tb,
                             uint8_t *memo) {
    unsigned n = f->all_frames ? tb->nframe : 1;
    for (unsigned i = 0; i < n; i++) {
        int m = frame_matches(f, pt, &tb->frames[i], memo);
        if (m != 0)
            return m < 0 ? -1 : f->inclusive;
    }
    return !f->inclusive;
}

/* Filter._match / DomainFilter._match for a trace whose traceback part
 * (Filter only) is tb_match. Domain -1 is any (Python's None); another
 * negative one is a domain no trace has, as in Python. */
static bool trace_matches(const rc_filter *f, bool tb_match, unsigned domain) {
    bool same = f->domain == -1 || (f->domain >= 0 && domain == (unsigned)f->domain);
    if (f->filename_pattern == NULL)
        return same == f->inclusive;
    if (f->domain == -1)
        return tb_match;
    return f->inclusive ? tb_match && same : tb_match || !same;
}

/* Copies traceback t of s into d (strings re-interned); its index or -1. */
static int64_t copy_traceback(rc_snapshot *d, const rc_snapshot *s, size_t t) {
    const rc_traceback *tb = &s->tbs[t];
    rc_frame frames[RC_TRACEMALLOC_MAX_NFRAME];
    for (unsigned i = 0; i < tb->nframe; i++) {
        const rc_frame *f = &tb->frames[i];
        frames[i].filename = rc__snapshot_string(d, f->filename, head_of(f->filename)->len);
        frames[i].lineno = f->lineno;
        frames[i].function =
            f->function ? rc__snapshot_string(d, f->function, head_of(f->function)->len) : NULL;
        if (frames[i].filename == NULL || (f->function && frames[i].function == NULL))
            return -1;
    }
    return rc__snapshot_add_traceback(d, frames, tb->nframe, tb->total_nframe);
}

/* match[k * ntbs + t]: whether Filter k's traceback part matches
 * traceback t (computed once per traceback, not per trace). */
static bool *match_tracebacks(const rc_snapshot *s, const rc_filter *filters, size_t n) {
    bool *match = calloc(n * s->ntbs + 1, sizeof *match);
    if (match == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        if (filters[k].filename_pattern == NULL)
            continue;
        pattern pt;
        uint8_t *memo = calloc(s->nfiles + 1, 1);
        if (memo == NULL || compile_pattern(filters[k].filename_pattern, &pt) < 0) {
            free(memo);
            free(match);
            errno = ENOMEM;
            return NULL;
        }
        int m = 0;
        for (size_t t = 0; t < s->ntbs && m >= 0; t++) {
            m = traceback_matches(&filters[k], &pt, &s->tbs[t], memo);
            match[k * s->ntbs + t] = m > 0;
        }
        pattern_free(&pt);
        free(memo);
        if (m < 0) {
            free(match);
            return NULL;
        }
    }
    return match;
}

/* Snapshot._filter_trace: some inclusive filter matches (if any exists)
 * and every exclusive filter matches. */
static bool keep_trace(const rc_snapshot *s, const rc_filter *filters, size_t n, const bool *match,
                       const snap_trace *tr) {
    bool any_inclusive = false, included = false;
    for (size_t k = 0; k < n; k++) {
        bool m = trace_matches(&filters[k], match[k * s->ntbs + tr->tb], tr->domain);
        if (filters[k].inclusive) {
            any_inclusive = true;
            included |= m;
        } else if (!m) {
            return false;
        }
    }
    return !any_inclusive || included;
}

rc_snapshot *rc_snapshot_filter_traces(const rc_snapshot *s, const rc_filter *filters, size_t n) {
    if (s == NULL || (filters == NULL && n > 0)) {
        errno = EINVAL;
        return NULL;
    }
    rc_snapshot *d = rc__snapshot_new(s->traceback_limit, s->untraced);
    bool *match = d ? match_tracebacks(s, filters, n) : NULL;
    uint32_t *map = match ? calloc(s->ntbs + 1, sizeof *map) : NULL; /* 1 + index in d */
    int rc = map ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < s->ntraces; i++) {
        const snap_trace *tr = &s->traces[i];
        if (!keep_trace(s, filters, n, match, tr))
            continue;
        if (map[tr->tb] == 0) {
            int64_t idx = copy_traceback(d, s, tr->tb);
            if (idx < 0) {
                rc = -1;
                break;
            }
            map[tr->tb] = (uint32_t)idx + 1;
        }
        rc = rc__snapshot_add_trace(d, tr->domain, map[tr->tb] - 1, tr->size);
    }
    free(map);
    free(match);
    if (rc == 0 && rc__snapshot_seal(d) == 0)
        return d;
    rc_snapshot_free(d);
    return NULL;
}

/* ---------------------------------------------------------------- text */

/* tracemalloc._format_size: B up to 10 KiB, then 3 significant digits
 * ("xx.x UNIT") under 100 and whole numbers up to 10240 of each unit. */
static int format_size(char *buf, size_t len, double size, bool sign) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    for (int u = 0;; u++) {
        if (fabs(size) < 100 && u != 0)
            return rc__snprintf_c(buf, len, sign ? "%+.1f %s" : "%.1f %s", size, units[u]);
        if (fabs(size) < 10 * 1024 || u == 4)
            return rc__snprintf_c(buf, len, sign ? "%+.0f %s" : "%.0f %s", size, units[u]);
        size /= 1024;
    }
}

/* size / count correctly rounded, as Python's int / int: converting a
 * size or count of 2^53 or more to double first rounds twice, which can
 * move a halfway average (10994566521946113 / 7 is 1428.5000000000002 TiB:
 * Python prints 1429 TiB, the double-rounded 1428.5 prints 1428). */
static double average(size_t size, size_t count) {
#ifdef __SIZEOF_INT128__
    if ((size >> 53) || (count >> 53)) {
        unsigned __int128 n = (unsigned __int128)size << 64, q = n / count;
        q |= n % count != 0; /* sticky bit: under the 53 kept whenever q >= 2^55 (else < 2^-9) */
        return ldexp((double)q, -64);
    }
#endif
    return (double)size / (double)count;
}

/* Statistic.__str__ and StatisticDiff.__str__ (diffs NULL for the
 * former); snprintf's contract. */
static int format_statistic(char *buf, size_t len, const rc_traceback *tb, size_t size,
                            size_t count, const long long *diffs) {
    if (buf == NULL && len > 0) {
        errno = EINVAL;
        return -1;
    }
    if (tb == NULL || tb->nframe == 0 || tb->frames == NULL || tb->frames[0].filename == NULL) {
        errno = EINVAL;
        return -1;
    }
    char sz[64], sd[64] = "", avg[64] = "";
    format_size(sz, sizeof sz, (double)size, false);
    if (diffs)
        format_size(sd, sizeof sd, (double)diffs[0], true);
    if (count)
        format_size(avg, sizeof avg, average(size, count), false);
    const rc_frame *f = &tb->frames[0];
    if (diffs)
        return snprintf(buf, len, "%s:%u: size=%s (%s), count=%zu (%+lld)%s%s", f->filename,
                        f->lineno, sz, sd, count, diffs[1], count ? ", average=" : "", avg);
    return snprintf(buf, len, "%s:%u: size=%s, count=%zu%s%s", f->filename, f->lineno, sz, count,
                    count ? ", average=" : "", avg);
}

int rc_statistic_format(const rc_statistic *st, char *buf, size_t len) {
    if (st == NULL) {
        errno = EINVAL;
        return -1;
    }
    return format_statistic(buf, len, &st->traceback, st->size, st->count, NULL);
}

int rc_statistic_diff_format(const rc_statistic_diff *d, char *buf, size_t len) {
    if (d == NULL) {
        errno = EINVAL;
        return -1;
    }
    long long diffs[2] = {d->size_diff, d->count_diff};
    return format_statistic(buf, len, &d->traceback, d->size, d->count, diffs);
}

int rc_snapshot_print_top(FILE *out, const rc_snapshot *s, rc_key_type key, size_t limit) {
    size_t n;
    if (out == NULL) {
        errno = EINVAL;
        return -1;
    }
    rc_statistic *st = rc_snapshot_statistics(s, key, false, &n);
    if (st == NULL)
        return -1;
    int rc = fprintf(out, "[ Top %zu ]\n", limit) < 0 ? -1 : 0;
    for (size_t i = 0; i < n && i < limit && rc == 0; i++) {
        char line[512], *text = line;
        int len = rc_statistic_format(&st[i], line, sizeof line);
        if (len >= (int)sizeof line) {
            text = malloc((size_t)len + 1);
            if (text == NULL) {
                errno = ENOMEM;
                rc = -1;
                break;
            }
            rc_statistic_format(&st[i], text, (size_t)len + 1);
        }
        rc = fprintf(out, "%s\n", text) < 0 ? -1 : 0;
        if (text != line)
            free(text);
    }
    free(st);
    if (rc == 0 && fflush(out) != 0) /* what waits in the stream's buffer must arrive too */
        rc = -1;
    return rc;
}

/* ---------------------------------------------------- traceback text */

/* The source of a traceback's frames, read as linecache reads it: the
 * file named, when it is a regular file of at most SOURCE_MAX bytes
 * (linecache would read any size; a FIFO or device named by a loaded dump
 * is not read at all) whose text is UTF-8 (a BOM skipped): else no line
 * at all, as Python's decoding error gives. A coding cookie is not
 * honoured (C sources have none). The last file read is kept for the
 * next frame. */
#define SOURCE_MAX ((size_t)16 << 20)
typedef struct source {
    const char *name; /* the frame's filename it was read for, or NULL */
    char *text;       /* NULL: no lines */
    size_t len;
} source;

/* Whether the n bytes at p are UTF-8 as Python's strict decoder takes it
 * (no overlong forms, surrogates or code points past U+10FFFF). */
static bool utf8_valid(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], k = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
                               : c >= 0xF0 && c <= 0xF4 ? 3 : 4;
        if (k == 4 || n - i <= k) /* not a lead byte, or cut short */
            return false;
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        if (k && (p[i + 1] < lo || p[i + 1] > hi))
            return false;
        for (unsigned j = 2; j <= k; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

/* Reads the file src->name into src (no lines when it cannot be read). */
static void source_read(source *src) {
    free(src->text);
    src->text = NULL;
    src->len = 0;
    const char *name = src->name;
    size_t n = strlen(name);
    if (n == 0 || (name[0] == '<' && name[n - 1] == '>')) /* linecache: "<unknown>" has none */
        return;
    int saved = errno;
    int fd = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= SOURCE_MAX &&
        (src->text = malloc((size_t)st.st_size + 1)) != NULL) {
        ssize_t r;
        while (src->len < (size_t)st.st_size &&
               ((r = read(fd, src->text + src->len, (size_t)st.st_size - src->len)) > 0 ||
                (r < 0 && errno == EINTR)))
            src->len += r > 0 ? (size_t)r : 0;
        size_t bom = src->len >= 3 && memcmp(src->text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        if (!utf8_valid((unsigned char *)src->text + bom, src->len - bom)) {
            free(src->text);
            src->text = NULL;
            src->len = 0;
        }
    }
    if (fd >= 0)
        close(fd);
    errno = saved;
}

/* The length of the whitespace character (str.isspace) at p, one of n
 * bytes of UTF-8, or 0; `back`: the one ending at p + n instead. */
static size_t space_at(const unsigned char *p, size_t n, bool back) {
    static const char *const wide[] = {"\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\xA8",
                                       "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80"};
    if (n == 0)
        return 0;
    unsigned c = back ? p[n - 1] : p[0];
    if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20))
        return 1;
    for (size_t k = 2; k <= 3 && k <= n; k++) {
        const unsigned char *q = back ? p + n - k : p;
        if (k == 3 && q[0] == 0xE2 && q[1] == 0x80 && q[2] >= 0x80 && q[2] <= 0x8A)
            return 3; /* U+2000..U+200A */
        for (size_t w = 0; w < sizeof wide / sizeof *wide; w++)
            if (strlen(wide[w]) == k && memcmp(q, wide[w], k) == 0)
                return k;
    }
    return 0;
}

/* Line lineno (from 1) of src, stripped as str.strip() does, into *line;
 * its length, 0 when there is none. Lines end at "\n", "\r\n" or "\r"
 * (Python's universal newlines). */
static size_t source_line(const source *src, unsigned lineno, const char **line) {
    if (src->text == NULL || lineno == 0)
        return 0;
    const char *p = src->text, *end = p + src->len;
    if (src->len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    for (unsigned k = 1; k < lineno; k++) {
        while (p < end && *p != '\n' && *p != '\r')
            p++;
        if (p == end)
            return 0;
        p += p[0] == '\r' && p + 1 < end && p[1] == '\n' ? 2 : 1;
    }
    const char *e = p;
    while (e < end && *e != '\n' && *e != '\r')
        e++;
    size_t k;
    while ((k = space_at((const unsigned char *)p, (size_t)(e - p), false)) != 0)
        p += k;
    while ((k = space_at((const unsigned char *)p, (size_t)(e - p), true)) != 0)
        e -= k;
    *line = p;
    return (size_t)(e - p);
}

/* snprintf's contract for text built piece by piece. */
typedef struct text_out {
    char *buf;
    size_t len, used; /* used: what the whole text needs */
} text_out;

static void text_put(text_out *t, const char *s, size_t n) {
    if (t->used < t->len) {
        size_t room = t->len - 1 - t->used;
        memcpy(t->buf + t->used, s, n < room ? n : room);
    }
    t->used += n;
}

/* Traceback.format's lines for frame f, each ending in a newline. */
static void format_frame(text_out *t, source *src, const rc_frame *f) {
    char tail[32];
    text_put(t, "  File \"", 8);
    text_put(t, f->filename, strlen(f->filename));
    text_put(t, tail, (size_t)snprintf(tail, sizeof tail, "\", line %u\n", f->lineno));
    if (src->name == NULL || strcmp(src->name, f->filename) != 0) {
        src->name = f->filename;
        source_read(src);
    }
    const char *line;
    size_t n = source_line(src, f->lineno, &line);
    if (n) {
        text_put(t, "    ", 4);
        text_put(t, line, n);
        text_put(t, "\n", 1);
    }
}

int rc_traceback_format(const rc_traceback *tb, int limit, bool most_recent_first, char *buf,
                        size_t len) {
    if (tb == NULL || (tb->nframe && tb->frames == NULL) || (buf == NULL && len > 0)) {
        errno = EINVAL;
        return -1;
    }
    for (unsigned i = 0; i < tb->nframe; i++)
        if (tb->frames[i].filename == NULL) {
            errno = EINVAL;
            return -1;
        }
    /* Python's frames are oldest first: self[-limit:] or self[:limit] */
    size_t n = tb->nframe, lo = 0, hi = 0;
    if (limit > 0)
        hi = (size_t)limit < n ? (size_t)limit : n;
    if (limit < 0) {
        unsigned long long drop = (unsigned long long)-(long long)limit;
        lo = drop < n ? (size_t)drop : n;
        hi = n;
    }
    text_out t = {buf, len, 0};
    source src = {NULL, NULL, 0};
    for (size_t k = lo; k < hi; k++)
        format_frame(&t, &src, &tb->frames[most_recent_first ? k : hi - 1 - (k - lo)]);
    free(src.text);
    if (len)
        buf[t.used < len ? t.used : len - 1] = '\0';
    if (t.used > INT_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    return (int)t.used;
}

/* ------------------------------------------------------- dump and load */

#define MAGIC "RCGCSNAP"
#define FORMAT_VERSION 1u

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* CRC-32 (IEEE 802.3, zlib's crc32) continued from crc over p[0..n). */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n) {
    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* The dump's bytes go to fd through buf, written with write(2), which a
 * signal handler installed without SA_RESTART may interrupt (EINTR) on a
 * pipe: the write is made again, as CPython's are (PEP 475). */
typedef struct writer {
    int fd;
    uint32_t crc;
    unsigned char buf[8192];
    size_t n;
    int err; /* errno of a failed write, 0 */
} writer;

static void w_flush(writer *w) {
    w->crc = crc32_update(w->crc, w->buf, w->n);
    for (size_t done = 0; w->err == 0 && done < w->n;) {
        ssize_t k = write(w->fd, w->buf + done, w->n - done);
        if (k > 0)
            done += (size_t)k;
        else if (k == 0)
            w->err = EIO;
        else if (errno != EINTR)
            w->err = errno;
    }
    w->n = 0;
}

static void w_bytes(writer *w, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0) {
        if (w->n == sizeof w->buf)
            w_flush(w);
        size_t k = sizeof w->buf - w->n < n ? sizeof w->buf - w->n : n;
        memcpy(w->buf + w->n, b, k);
        w->n += k;
        b += k;
        n -= k;
    }
}

static void w_u32(writer *w, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    w_bytes(w, b, 4);
}

static void w_u64(writer *w, uint64_t v) {
    w_u32(w, (uint32_t)v);
    w_u32(w, (uint32_t)(v >> 32));
}

/* The index a string has in the dump: strings are numbered in arena order
 * of first use by a frame; index[] maps interned string -> number through
 * the string set's slot. */
static size_t string_slot(const rc_snapshot *s, const char *str) {
    size_t mask = s->strset_cap - 1, i = head_of(str)->hash & mask;
    while (s->strset[i] != str)
        i = (i + 1) & mask;
    return i;
}

/* Writes s to w, all but the checksum: the header, the strings (numbering
 * each in number[], by its slot in the string set), the tracebacks, the
 * traces. */
static void dump_contents(writer *w, const rc_snapshot *s, uint32_t *number) {
    w_bytes(w, MAGIC, 8);
    w_u32(w, FORMAT_VERSION);
    w_u32(w, s->traceback_limit);
    w_u64(w, s->nstrings);
    w_u64(w, s->ntbs);
    w_u64(w, s->ntraces);
    w_u64(w, s->untraced);
    uint32_t next = 0;
    for (size_t i = 0; i < s->strset_cap; i++) {
        const char *str = s->strset[i];
        if (str == NULL)
            continue;
        number[i] = next++;
        w_u32(w, head_of(str)->len);
        w_bytes(w, str, head_of(str)->len);
    }
    for (size_t t = 0; t < s->ntbs; t++) {
        const rc_traceback *tb = &s->tbs[t];
        w_u32(w, tb->nframe);
        w_u32(w, tb->total_nframe);
        for (unsigned i = 0; i < tb->nframe; i++) {
            const rc_frame *fr = &tb->frames[i];
            w_u32(w, number[string_slot(s, fr->filename)]);
            w_u32(w, fr->lineno);
            w_u32(w, fr->function ? number[string_slot(s, fr->function)] + 1 : 0);
        }
    }
    for (size_t i = 0; i < s->ntraces; i++) {
        w_u32(w, s->traces[i].domain);
        w_u32(w, s->traces[i].tb);
        w_u64(w, s->traces[i].size);
    }
}

/* A write past RLIMIT_FSIZE raises SIGXFSZ, one into a pipe nobody reads
 * SIGPIPE, and both end a program that has not set them aside (CPython
 * ignores them at start: its dump raises OSError, EFBIG or EPIPE). A dump
 * holds them blocked in its thread, so that the write fails with that
 * errno instead, and takes back those it raised (pending now, not before). */
typedef struct write_signals {
    sigset_t held, mask_before, pending_before;
} write_signals;

static void write_signals_hold(write_signals *ws) {
    sigemptyset(&ws->held);
    sigaddset(&ws->held, SIGXFSZ);
    sigaddset(&ws->held, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &ws->held, &ws->mask_before);
    sigpending(&ws->pending_before);
}

static void write_signals_release(write_signals *ws) {
    sigset_t now;
    sigpending(&now);
    static const int signals[] = {SIGXFSZ, SIGPIPE};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        int sig = signals[i];
        if (sigismember(&now, sig) && !sigismember(&ws->pending_before, sig) &&
            !sigismember(&ws->mask_before, sig)) {
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            int saved = errno;
            (void)sigtimedwait(&one, NULL, &(struct timespec){0, 0});
            errno = saved;
        }
    }
    pthread_sigmask(SIG_SETMASK, &ws->mask_before, NULL);
}

/* rc_snapshot_dump, its signals held. */
static int dump_to(const rc_snapshot *s, const char *path) {
    if (s->nstrings > UINT32_MAX - 1 || s->ntbs > UINT32_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    /* number[slot]: the dump index of the string in that slot of strset */
    uint32_t *number = malloc((s->strset_cap ? s->strset_cap : 1) * sizeof *number);
    writer *w = malloc(sizeof *w);
    int fd = number && w ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666) : -1;
    if (fd < 0) {
        if (number == NULL || w == NULL)
            errno = ENOMEM;
        free(number);
        free(w);
        return -1;
    }
    *w = (writer){.fd = fd};
    dump_contents(w, s, number);
    w_flush(w);
    uint32_t crc = w->crc;
    w_u32(w, crc);
    w_flush(w);
    int err = w->err;
    free(w);
    free(number);
    /* close's EINTR (on Linux the descriptor is closed all the same) is
     * no failure of the dump: its bytes were written */
    if (close(fd) != 0 && errno != EINTR && err == 0)
        err = errno;
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

/* dump_to with SIGXFSZ and SIGPIPE held (write_signals). */
int rc_snapshot_dump(const rc_snapshot *s, const char *path) {
    if (s == NULL || path == NULL) {
        errno = EINVAL;
        return -1;
    }
    write_signals ws;
    write_signals_hold(&ws);
    int result = dump_to(s, path);
    int saved = errno;
    write_signals_release(&ws);
    errno = saved;
    return result;
}

/* The bytes of a dump, read in order: from memory (fd -1: p..end is all
 * there is) or from a file through a window refilled as the parse goes
 * (grown to the longest field, a string, as its bytes come), so that a
 * load reads exactly the bytes the format declares, and one more to find
 * that nothing follows: a valid snapshot followed by an endless stream is
 * refused at once. crc covers the bytes before mark. A read(2) that a
 * signal handler installed without SA_RESTART interrupted (EINTR, on a
 * pipe) is made again, as CPython's are (PEP 475). */
typedef struct reader {
    const unsigned char *p, *end, *mark;
    int fd;
    unsigned char *buf;
    size_t cap;
    uint32_t crc;
    int err; /* errno of a failed read, 0 */
} reader;

/* At least n unread bytes at r->p: true, or false at the end of the
 * data (or at a read error, kept in r->err). The window's bytes before p
 * go into the checksum before it is refilled. */
static bool r_fill(reader *r, size_t n) {
    while ((size_t)(r->end - r->p) < n) {
        if (r->fd < 0 || r->err)
            return false;
        size_t have = (size_t)(r->end - r->p);
        r->crc = crc32_update(r->crc, r->mark, (size_t)(r->p - r->mark));
        if (have == r->cap) {
            unsigned char *grown = r->cap <= SIZE_MAX / 2 ? realloc(r->buf, r->cap * 2) : NULL;
            if (grown == NULL) {
                r->err = ENOMEM;
                return false;
            }
            r->buf = grown;
            r->cap *= 2;
        } else if (have) {
            memmove(r->buf, r->p, have);
        }
        ssize_t got;
        do
            got = read(r->fd, r->buf + have, r->cap - have);
        while (got < 0 && errno == EINTR);
        r->p = r->mark = r->buf;
        r->end = r->buf + have + (got > 0 ? got : 0);
        if (got < 0)
            r->err = errno;
        else if (got == 0)
            return false;
    }
    return true;
}

static bool r_u32(reader *r, uint32_t *v) {
    if (!r_fill(r, 4))
        return false;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return true;
}

static bool r_u64(reader *r, uint64_t *v) {
    uint32_t lo, hi;
    if (!r_u32(r, &lo) || !r_u32(r, &hi))
        return false;
    *v = (uint64_t)hi << 32 | lo;
    return true;
}

/* The parsers of a dump's sections return 0, -1 (the file is bad) or -2
 * (out of memory). Their tables grow with the items read, never to the
 * counts the header declares, so memory follows the bytes there are. */
typedef struct parse_state {
    rc_snapshot *s;
    const char **strings; /* strings[i]: the file's string i, interned in s */
    uint32_t *index;      /* index[t]: s's index of the file's traceback t */
    size_t strings_cap, index_cap;
} parse_state;

/* Reads the strings of a dump, interning each in the snapshot. */
static int parse_strings(parse_state *ps, reader *r, uint64_t nstrings) {
    for (uint64_t i = 0; i < nstrings; i++) {
        uint32_t n;
        if (!r_u32(r, &n) || !r_fill(r, n) || memchr(r->p, '\0', n))
            return -1;
        if (reserve((void **)&ps->strings, &ps->strings_cap, i + 1, sizeof *ps->strings) < 0 ||
            (ps->strings[i] = rc__snapshot_string(ps->s, (const char *)r->p, n)) == NULL)
            return -2;
        r->p += n;
    }
    return 0;
}

/* Reads the tracebacks of a dump (equal ones are stored once). */
static int parse_tracebacks(parse_state *ps, reader *r, uint64_t ntbs, uint64_t nstrings) {
    rc_frame frames[RC_TRACEMALLOC_MAX_NFRAME];
    for (uint64_t t = 0; t < ntbs; t++) {
        uint32_t nframe, total;
        if (!r_u32(r, &nframe) || !r_u32(r, &total) || nframe == 0 ||
            nframe > RC_TRACEMALLOC_MAX_NFRAME)
            return -1;
        for (uint32_t i = 0; i < nframe; i++) {
            uint32_t file, line, func;
            if (!r_u32(r, &file) || !r_u32(r, &line) || !r_u32(r, &func) || file >= nstrings ||
                func > nstrings)
                return -1;
            frames[i] = (rc_frame){ps->strings[file], line, func ? ps->strings[func - 1] : NULL};
        }
        int64_t k = rc__snapshot_add_traceback(ps->s, frames, nframe, total);
        if (k < 0 || reserve((void **)&ps->index, &ps->index_cap, t + 1, sizeof *ps->index) < 0)
            return -2;
        ps->index[t] = (uint32_t)k;
    }
    return 0;
}

/* Reads the traces of a dump, whose tracebacks number ntbs. */
static int parse_traces(parse_state *ps, reader *r, uint64_t ntraces, uint64_t ntbs) {
    for (uint64_t i = 0; i < ntraces; i++) {
        uint32_t domain, tb;
        uint64_t size;
        if (!r_u32(r, &domain) || !r_u32(r, &tb) || !r_u64(r, &size) || tb >= ntbs ||
            size > SIZE_MAX)
            return -1;
        if (rc__snapshot_add_trace(ps->s, domain, ps->index[tb], (size_t)size) < 0)
            return -2;
    }
    return 0;
}

/* The sections after the magic, the checksum, and the end: 0, -1 or -2. */
static int parse_body(parse_state *ps, reader *r, bool check_crc) {
    uint32_t version = 0, limit = 0, crc = 0;
    uint64_t nstrings = 0, ntbs = 0, ntraces = 0, untraced = 0;
    if (!r_u32(r, &version) || !r_u32(r, &limit) || !r_u64(r, &nstrings) || !r_u64(r, &ntbs) ||
        !r_u64(r, &ntraces) || !r_u64(r, &untraced) || version != FORMAT_VERSION || limit == 0 ||
        limit > RC_TRACEMALLOC_MAX_NFRAME || untraced > SIZE_MAX)
        return -1;
    if ((ps->s = rc__snapshot_new(limit, (size_t)untraced)) == NULL)
        return -2;
    int rc = parse_strings(ps, r, nstrings);
    if (rc == 0)
        rc = parse_tracebacks(ps, r, ntbs, nstrings);
    if (rc == 0)
        rc = parse_traces(ps, r, ntraces, ntbs);
    if (rc != 0)
        return rc;
    r->crc = crc32_update(r->crc, r->mark, (size_t)(r->p - r->mark));
    r->mark = r->p;
    if (!r_u32(r, &crc) || (check_crc && crc != r->crc) || r_fill(r, 1))
        return -1; /* the checksum missing or wrong, or something after it */
    return rc__snapshot_seal(ps->s) < 0 ? -2 : 0;
}

/* A dump read through r: the snapshot, or NULL + errno. */
static rc_snapshot *parse_dump(reader *r, bool check_crc) {
    parse_state ps = {0};
    int rc = -1;
    if (r_fill(r, 8) && memcmp(r->p, MAGIC, 8) == 0) {
        r->p += 8;
        rc = parse_body(&ps, r, check_crc);
    }
    free(ps.strings);
    free(ps.index);
    if (rc == 0)
        return ps.s;
    rc_snapshot_free(ps.s);
    errno = r->err ? r->err : rc == -1 ? EINVAL : ENOMEM;
    return NULL;
}

rc_snapshot *rc__snapshot_parse(const unsigned char *data, size_t len, bool check_crc) {
    reader r = {data, data ? data + len : NULL, data, -1, NULL, 0, 0, 0};
    return parse_dump(&r, check_crc);
}

rc_snapshot *rc__snapshot_load_fd(int fd) {
    struct stat st;
    reader r = {.fd = fd, .cap = 65536};
    rc_snapshot *s = NULL;
    int err = 0;
    if (fstat(fd, &st) != 0)
        err = errno;
    else if (S_ISDIR(st.st_mode))
        err = EISDIR;
    else if ((r.buf = malloc(r.cap)) == NULL)
        err = ENOMEM;
    else {
        r.p = r.end = r.mark = r.buf;
        s = parse_dump(&r, true);
        err = s ? 0 : errno;
    }
    free(r.buf);
    if (err)
        errno = err;
    return s;
}

rc_snapshot *rc_snapshot_load(const char *path) {
    if (path == NULL) {
        errno = EINVAL;
        return NULL;
    }
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR); /* a FIFO's open waits for a writer */
    if (fd < 0)
        return NULL;
    rc_snapshot *s = rc__snapshot_load_fd(fd);
    int err = errno;
    close(fd);
    errno = err;
    return s;
}
