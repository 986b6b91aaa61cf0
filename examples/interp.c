/*
 * interp.c — a small Scheme whose values are rcgc objects.
 *
 * The kind of program rcgc is for. Reference counting frees a value the
 * moment the script drops it; the cycle collector frees what counting
 * cannot, such as a recursive local function and the frame binding it
 * (closure -> frame -> closure). Symbols are interned through weak
 * references, so a symbol no live value names leaves the table by itself.
 * Ports have a finalizer that closes them once, however they die. And
 * tracemalloc, given the script's line numbers by a frame provider, says
 * which script lines hold the memory.
 *
 * Usage: interp [FILE] (else stdin). The language: integers, symbols, #t,
 * #f, quote/'x, if, define, set!, lambda, begin; builtins + - * < = cons
 * car cdr list null? display newline; and (gc), (symbol-count), (open
 * 'name), (memory-report n). Each top-level form's value prints as
 * "=> value"; an error prints "error: ..." (on stdout, with the rest of the
 * session) and the next form runs.
 */
#include "rcgc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_DEPTH = 1000,    /* lists being evaluated, or read, at once */
    MAX_ATOM = 63,       /* characters in a number or a symbol */
    SYMBOL_BUCKETS = 64, /* the symbol table's hash buckets */
};

/* Every value is an rc object; its rc_type says which kind it is. */
typedef void value;
typedef struct interp interp;

/* --------------------------------------------------------------- values */

/* An integer references nothing: no traverse, so integers are never tracked
 * by the collector and carry the smallest header. */
typedef struct integer { long value; } integer;
static const rc_type integer_type = {.name = "integer", .size = sizeof(integer)};

/* A symbol keeps its name in the object (rc_new_sized). Untracked too. */
typedef struct symbol { size_t length; char name[]; } symbol;
static const rc_type symbol_type = {.name = "symbol", .size = sizeof(symbol)};

/* (), #t, #f and the value of forms that have none: one object each. */
typedef struct constant { const char *text; } constant;
static const rc_type constant_type = {.name = "constant", .size = sizeof(constant)};

/* A builtin procedure: a C function given its evaluated arguments as a
 * list (borrowed), returning a new reference, or NULL after reporting an
 * error. max_args -1: any number. */
typedef value *(*builtin_fn)(interp *in, value *args);
typedef struct builtin_spec {
    const char *name;
    builtin_fn fn;
    int min_args, max_args;
} builtin_spec;
typedef struct builtin { const builtin_spec *spec; } builtin;
static const rc_type builtin_type = {.name = "builtin", .size = sizeof(builtin)};

/* A cons cell. line: the script line of the list the reader made it for
 * (0 for cells the program makes), which eval reports to tracemalloc. */
typedef struct pair { value *car, *cdr; unsigned line; } pair;

static void pair_traverse(void *self, rc_visit_fn visit, void *arg) {
    pair *p = self;
    visit(&p->car, arg);
    visit(&p->cdr, arg);
}
static const rc_type pair_type = {.name = "pair", .size = sizeof(pair), .traverse = pair_traverse};

/* A frame of bindings and the frame it extends (NULL for the global one);
 * a chain of frames is an environment. slots[0..count) are the bindings,
 * in an rc_malloc'ed array that release frees. */
typedef struct binding { symbol *name; value *value; } binding;
typedef struct frame {
    struct frame *parent;
    binding *slots;
    size_t count, capacity;
} frame;

static void frame_traverse(void *self, rc_visit_fn visit, void *arg) {
    frame *f = self;
    visit((void **)&f->parent, arg);
    for (size_t i = 0; i < f->count; i++) {
        visit((void **)&f->slots[i].name, arg);
        visit(&f->slots[i].value, arg);
    }
}

/* Drops every reference. The library's default (NULL each slot traverse
 * visits) would leave count bindings with NULL names; emptying the frame
 * first keeps "slots[0..count) are bindings" true at every step, whatever
 * the decrefs below run (a finalizer, a weak reference callback). */
static void frame_clear(void *self) {
    frame *f = self;
    size_t n = f->count;
    f->count = 0;
    for (size_t i = 0; i < n; i++) {
        RC_CLEAR(f->slots[i].name);
        RC_CLEAR(f->slots[i].value);
    }
    RC_CLEAR(f->parent);
}

/* The array is no rc object: release frees it, once, after clear. */
static void frame_release(void *self) { rc_free(rc_heap_of(self), ((frame *)self)->slots); }

static const rc_type frame_type = {
    .name = "frame", .size = sizeof(frame), .traverse = frame_traverse,
    .clear = frame_clear, .release = frame_release,
};

/* A procedure made by lambda or define: its parameter list, its body (a
 * list of forms), the frame it was made in, and its name (NULL: none). */
typedef struct closure { symbol *name; value *params, *body; frame *env; } closure;

static void closure_traverse(void *self, rc_visit_fn visit, void *arg) {
    closure *c = self;
    visit((void **)&c->name, arg);
    visit(&c->params, arg);
    visit(&c->body, arg);
    visit((void **)&c->env, arg);
}
static const rc_type closure_type = {
    .name = "closure", .size = sizeof(closure), .traverse = closure_traverse,
};

/* A port stands for an OS resource to close exactly once, when its last
 * reference goes, by counting or in a cycle. Its finalizer runs once (PEP
 * 442) before anything is cleared, even in cyclic garbage: the name it
 * prints is still there. */
typedef struct port { symbol *name; } port;

static void port_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit((void **)&((port *)self)->name, arg);
}
static void port_finalize(void *self) { printf("[port %s closed]\n", ((port *)self)->name->name); }
static const rc_type port_type = {
    .name = "port", .size = sizeof(port), .traverse = port_traverse, .finalize = port_finalize,
};

/* ---------------------------------------------------------- interpreter */

enum special { SF_QUOTE, SF_IF, SF_DEFINE, SF_SET, SF_LAMBDA, SF_BEGIN, SF_COUNT };

/* A symbol table entry. It owns a weak reference to its symbol, whose
 * callback removes the entry when the symbol dies. */
typedef struct symbol_entry {
    struct symbol_entry *next;
    rc_weakref *ref;
    interp *in;
    unsigned hash;
} symbol_entry;

struct interp {
    rc_heap *heap;
    value *nil, *true_value, *false_value, *unspecified;
    symbol *special[SF_COUNT]; /* the special forms' names */
    frame *global;
    symbol_entry *buckets[SYMBOL_BUCKETS];
    size_t symbol_count;
    const char *filename;            /* the script, for tracemalloc */
    int depth;                       /* lists being evaluated */
    unsigned line_at[MAX_DEPTH + 1]; /* their lines; [0]: the top-level form's */
};

static void display(const interp *in, value *v);

/* Prints "error: " fmt, then the culprit if not NULL. Returns NULL, so that
 * `return fail(...)` ends a failing evaluation: each caller drops what it
 * holds and passes the NULL up to the top level. */
static value *fail(const interp *in, value *culprit, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    if (culprit) {
        putchar(' ');
        display(in, culprit);
    }
    putchar('\n');
    return NULL;
}

static value *out_of_memory(const interp *in) { return fail(in, NULL, "out of memory"); }
static value *bad_syntax(const interp *in, value *form) { return fail(in, form, "bad syntax:"); }

static bool is(const value *v, const rc_type *type) { return rc_type_of(v) == type; }
static value *car(value *p) { return ((pair *)p)->car; }
static value *cdr(value *p) { return ((pair *)p)->cdr; }
static long int_value(value *v) { return ((integer *)v)->value; }

/* The k-th element of list (borrowed); the list has more than k. */
static value *nth(value *list, int k) {
    while (k-- > 0)
        list = cdr(list);
    return car(list);
}

/* The number of pairs in a list. Every list the evaluator walks is proper:
 * the reader has no dotted pairs, and argument lists are built here. */
static long list_length(value *list) {
    long n = 0;
    for (; is(list, &pair_type); list = cdr(list))
        n++;
    return n;
}

/* Whether v has the given type; reports "WHO expects a TYPE, got V" if not. */
static bool want(const interp *in, value *v, const rc_type *type, const char *who) {
    if (is(v, type))
        return true;
    fail(in, v, "%s expects a%s %s, got", who, strchr("aeiou", type->name[0]) ? "n" : "",
         type->name);
    return false;
}

/* ---------------------------------------------------------- constructors
 * Each returns a new reference, or NULL after reporting out of memory. */

static value *new_integer(interp *in, long v) {
    integer *i = rc_new(in->heap, &integer_type);
    if (i == NULL)
        return out_of_memory(in);
    i->value = v;
    return i;
}

/* A pair of car and cdr (borrowed: the pair takes its own references). */
static pair *new_pair(interp *in, value *car, value *cdr, unsigned line) {
    pair *p = rc_new(in->heap, &pair_type);
    if (p == NULL)
        return out_of_memory(in);
    p->car = rc_incref(car);
    p->cdr = rc_incref(cdr);
    p->line = line;
    return p;
}

static value *boolean(interp *in, bool b) {
    return rc_incref(b ? in->true_value : in->false_value);
}

/* Appends item (borrowed) to a list being built: **tail is the () ending
 * it, and *tail moves to the new end. false after reporting. */
static bool append(interp *in, value ***tail, value *item, unsigned line) {
    pair *cell = new_pair(in, item, in->nil, line);
    if (cell == NULL)
        return false;
    RC_SET(**tail, (value *)cell);
    *tail = &cell->cdr;
    return true;
}

/* --------------------------------------------------------- symbol table */

static unsigned hash_name(const char *s, size_t length) {
    unsigned h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < length; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The weak reference's callback: the symbol died (by counting, or when the
 * collector freed what named it), so its entry goes, and with it the
 * table's reference to the weak reference (the library holds one more
 * while the callback runs). */
static void forget_symbol(rc_weakref *ref, void *arg) {
    symbol_entry *entry = arg;
    interp *in = entry->in;
    symbol_entry **link = &in->buckets[entry->hash % SYMBOL_BUCKETS];
    while (*link != entry)
        link = &(*link)->next;
    *link = entry->next;
    in->symbol_count--;
    rc_free(in->heap, entry);
    rc_decref(ref);
}

/* The symbol named name[0..length): a new reference to the table's if it
 * is alive, else to a new symbol entered in the table. The table holds no
 * strong reference: a symbol lives as long as some value names it. */
static symbol *intern(interp *in, const char *name, size_t length) {
    unsigned hash = hash_name(name, length);
    for (symbol_entry *e = in->buckets[hash % SYMBOL_BUCKETS]; e; e = e->next) {
        symbol *s = e->hash == hash ? rc_weakref_get(e->ref) : NULL;
        if (s && s->length == length && memcmp(s->name, name, length) == 0)
            return s;
        rc_decref(s);
    }
    symbol *s = rc_new_sized(in->heap, &symbol_type, sizeof(symbol) + length + 1);
    symbol_entry *entry = rc_malloc(in->heap, sizeof *entry);
    rc_weakref *ref = s && entry ? rc_weakref_new(s, forget_symbol, entry) : NULL;
    if (ref == NULL) {
        rc_free(in->heap, entry);
        rc_decref(s);
        return out_of_memory(in);
    }
    s->length = length;
    memcpy(s->name, name, length);
    s->name[length] = '\0';
    /* The bucket is read only now: the allocations above may have run a
     * collection whose callbacks removed entries. */
    *entry = (symbol_entry){in->buckets[hash % SYMBOL_BUCKETS], ref, in, hash};
    in->buckets[hash % SYMBOL_BUCKETS] = entry;
    in->symbol_count++;
    return s;
}

/* --------------------------------------------------------------- frames */

/* A new empty frame extending parent (borrowed, may be NULL), with room for
 * capacity bindings. */
static frame *new_frame(interp *in, frame *parent, size_t capacity) {
    frame *f = rc_new(in->heap, &frame_type);
    if (f == NULL)
        return out_of_memory(in);
    if (capacity && (f->slots = rc_malloc(in->heap, capacity * sizeof *f->slots)) == NULL) {
        rc_decref(f);
        return out_of_memory(in);
    }
    f->capacity = capacity;
    f->parent = rc_incref(parent);
    return f;
}

/* The binding of name in env or a frame it extends, or NULL. Borrowed, and
 * valid only until that frame's array grows. */
static binding *find_binding(frame *env, const symbol *name) {
    for (; env; env = env->parent)
        for (size_t i = 0; i < env->count; i++)
            if (env->slots[i].name == name)
                return &env->slots[i];
    return NULL;
}

/* Binds name to v (both borrowed) in env's own frame, replacing a binding
 * of name there. 0, or -1 after reporting out of memory. */
static int define_binding(interp *in, frame *env, symbol *name, value *v) {
    for (size_t i = 0; i < env->count; i++)
        if (env->slots[i].name == name) {
            RC_SET(env->slots[i].value, rc_incref(v));
            return 0;
        }
    if (env->count == env->capacity) {
        size_t capacity = env->capacity ? env->capacity * 2 : 4;
        binding *slots = rc_realloc(in->heap, env->slots, capacity * sizeof *slots);
        if (slots == NULL) {
            out_of_memory(in);
            return -1;
        }
        env->slots = slots;
        env->capacity = capacity;
    }
    env->slots[env->count++] = (binding){rc_incref(name), rc_incref(v)};
    return 0;
}

/* --------------------------------------------------------------- reader */

typedef struct reader { FILE *fp; unsigned line; } reader;
typedef enum read_status { READ_OK, READ_END, READ_ERROR } read_status;

static int next_char(reader *r) {
    int c = getc(r->fp);
    r->line += c == '\n';
    return c;
}

static int peek_char(reader *r) {
    int c = getc(r->fp);
    return c == EOF ? EOF : ungetc(c, r->fp);
}

/* Skips blanks and comments (from ; to the end of the line). */
static void skip_space(reader *r) {
    for (int c = peek_char(r); c == ';' || isspace(c); c = peek_char(r)) {
        if (c != ';')
            next_char(r);
        else
            while (c != '\n' && c != EOF)
                c = next_char(r);
    }
}

static read_status read_datum(interp *in, reader *r, value **out, int depth);

/* The rest of a list whose ( was on line; its pairs remember that line. */
static read_status read_list(interp *in, reader *r, value **out, int depth, unsigned line) {
    rc_auto value *list = rc_incref(in->nil);
    value **tail = &list;
    for (;;) {
        skip_space(r);
        int c = peek_char(r);
        if (c == EOF) {
            fail(in, NULL, "end of input in the list opened on line %u", line);
            return READ_ERROR;
        }
        if (c == ')') {
            next_char(r);
            *out = rc_incref(list);
            return READ_OK;
        }
        rc_auto value *item = NULL;
        if (read_datum(in, r, &item, depth + 1) != READ_OK || !append(in, &tail, item, line))
            return READ_ERROR;
    }
}

/* 'datum, which is (quote datum). */
static read_status read_quoted(interp *in, reader *r, value **out, int depth, unsigned line) {
    rc_auto value *datum = NULL;
    read_status status = read_datum(in, r, &datum, depth + 1);
    if (status == READ_END)
        fail(in, NULL, "nothing to quote after ' on line %u", line);
    if (status != READ_OK)
        return READ_ERROR;
    rc_auto value *rest = new_pair(in, datum, in->nil, line);
    *out = rest ? new_pair(in, in->special[SF_QUOTE], rest, line) : NULL;
    return *out ? READ_OK : READ_ERROR;
}

/* An integer, #t, #f or a symbol, whose first character c was read. */
static read_status read_atom(interp *in, reader *r, int c, value **out) {
    char text[MAX_ATOM + 1];
    size_t length = 0;
    for (;; c = next_char(r)) {
        if (length < MAX_ATOM)
            text[length] = (char)c;
        length++;
        int next = peek_char(r);
        if (next == EOF || isspace(next) || strchr("()';", next))
            break;
    }
    if (length > MAX_ATOM) {
        fail(in, NULL, "atom longer than %d characters on line %u", MAX_ATOM, r->line);
        return READ_ERROR;
    }
    text[length] = '\0';
    char *end;
    errno = 0;
    long number = strtol(text, &end, 10);
    if (end != text && *end == '\0' && errno == ERANGE)
        *out = fail(in, NULL, "integer out of range: %s", text);
    else if (end != text && *end == '\0')
        *out = new_integer(in, number);
    else if (strcmp(text, "#t") == 0 || strcmp(text, "#f") == 0)
        *out = boolean(in, text[1] == 't');
    else
        *out = intern(in, text, length);
    return *out ? READ_OK : READ_ERROR;
}

/* Reads one datum into *out (a new reference). READ_END at the end of the
 * input; READ_ERROR after reporting. depth bounds the recursion. */
static read_status read_datum(interp *in, reader *r, value **out, int depth) {
    if (depth > MAX_DEPTH) {
        fail(in, NULL, "lists nested deeper than %d on line %u", MAX_DEPTH, r->line);
        return READ_ERROR;
    }
    skip_space(r);
    unsigned line = r->line;
    int c = next_char(r);
    if (c == EOF)
        return READ_END;
    if (c == '(')
        return read_list(in, r, out, depth, line);
    if (c == '\'')
        return read_quoted(in, r, out, depth, line);
    if (c != ')')
        return read_atom(in, r, c, out);
    fail(in, NULL, "unexpected ) on line %u", line);
    return READ_ERROR;
}

/* -------------------------------------------------------------- printer */

static void display_list(const interp *in, pair *p) {
    putchar('(');
    for (;;) {
        display(in, p->car);
        if (!is(p->cdr, &pair_type))
            break;
        putchar(' ');
        p = p->cdr;
    }
    if (p->cdr != in->nil) {
        fputs(" . ", stdout);
        display(in, p->cdr);
    }
    putchar(')');
}

/* Prints v (borrowed) as display does; never an address, so that the same
 * script prints the same text. */
static void display(const interp *in, value *v) {
    const rc_type *t = rc_type_of(v);
    if (t == &integer_type)
        printf("%ld", int_value(v));
    else if (t == &symbol_type)
        fputs(((symbol *)v)->name, stdout);
    else if (t == &constant_type)
        fputs(((constant *)v)->text, stdout);
    else if (t == &pair_type)
        display_list(in, v);
    else if (t == &builtin_type)
        printf("#<builtin %s>", ((builtin *)v)->spec->name);
    else if (t == &closure_type && ((closure *)v)->name)
        printf("#<closure %s>", ((closure *)v)->name->name);
    else if (t == &closure_type)
        fputs("#<closure>", stdout);
    else
        printf("#<port %s>", ((port *)v)->name->name);
}

/* ------------------------------------------------------------ evaluator
 * eval and the functions below take their arguments borrowed and return a
 * new reference, or NULL after reporting an error. */

static value *eval(interp *in, value *expr, frame *env);

/* Evaluates the forms of a list in env: the last one's value, or the
 * unspecified value for none. */
static value *eval_sequence(interp *in, value *forms, frame *env) {
    value *result = rc_incref(in->unspecified);
    for (; forms != in->nil; forms = cdr(forms)) {
        rc_decref(result);
        if ((result = eval(in, car(forms), env)) == NULL)
            return NULL;
    }
    return result;
}

/* A closure of params and body in env, named name (may be NULL); form is
 * the lambda or define, for error messages. */
static value *make_closure(interp *in, value *form, value *params, value *body, frame *env,
                           symbol *name) {
    if (params != in->nil && !is(params, &pair_type))
        return bad_syntax(in, form);
    for (value *p = params; p != in->nil; p = cdr(p))
        if (!is(car(p), &symbol_type))
            return bad_syntax(in, form);
    closure *c = rc_new(in->heap, &closure_type);
    if (c == NULL)
        return out_of_memory(in);
    c->name = rc_incref(name);
    c->params = rc_incref(params);
    c->body = rc_incref(body);
    c->env = rc_incref(env);
    return c;
}

/* (quote datum) */
static value *eval_quote(interp *in, value *form, frame *env) {
    (void)env;
    return list_length(form) == 2 ? rc_incref(nth(form, 1)) : bad_syntax(in, form);
}

/* (if test then [else]): only #f is false. */
static value *eval_if(interp *in, value *form, frame *env) {
    long n = list_length(form);
    if (n != 3 && n != 4)
        return bad_syntax(in, form);
    value *test = eval(in, nth(form, 1), env);
    if (test == NULL)
        return NULL;
    bool chosen = test != in->false_value;
    rc_decref(test);
    if (chosen)
        return eval(in, nth(form, 2), env);
    return n == 4 ? eval(in, nth(form, 3), env) : rc_incref(in->unspecified);
}

/* (define name expr) or (define (name param...) body...), in env's own
 * frame. A recursive function defined in a call's frame makes a cycle:
 * the frame binds the closure, and the closure's env is the frame. */
static value *eval_define(interp *in, value *form, frame *env) {
    long n = list_length(form);
    value *target = n >= 3 ? nth(form, 1) : in->nil;
    bool procedure = is(target, &pair_type) && is(car(target), &symbol_type);
    if (!procedure && (n != 3 || !is(target, &symbol_type)))
        return bad_syntax(in, form);
    symbol *name = procedure ? car(target) : target;
    rc_auto value *v = procedure ? make_closure(in, form, cdr(target), cdr(cdr(form)), env, name)
                                 : eval(in, nth(form, 2), env);
    if (v == NULL || define_binding(in, env, name, v) != 0)
        return NULL;
    return rc_incref(in->unspecified);
}

/* (set! name expr). The binding is looked up after expr is evaluated,
 * which may have grown a frame's array. */
static value *eval_set(interp *in, value *form, frame *env) {
    if (list_length(form) != 3 || !is(nth(form, 1), &symbol_type))
        return bad_syntax(in, form);
    rc_auto value *v = eval(in, nth(form, 2), env);
    if (v == NULL)
        return NULL;
    binding *b = find_binding(env, nth(form, 1));
    if (b == NULL)
        return fail(in, nth(form, 1), "unbound symbol:");
    RC_SET(b->value, rc_incref(v)); /* the old value may die here */
    return rc_incref(in->unspecified);
}

/* (lambda (param...) body...) */
static value *eval_lambda(interp *in, value *form, frame *env) {
    if (list_length(form) < 3)
        return bad_syntax(in, form);
    return make_closure(in, form, nth(form, 1), cdr(cdr(form)), env, NULL);
}

/* (begin form...) */
static value *eval_begin(interp *in, value *form, frame *env) {
    return eval_sequence(in, cdr(form), env);
}

static const struct {
    const char *name;
    value *(*eval)(interp *in, value *form, frame *env);
} special_forms[SF_COUNT] = {
    [SF_QUOTE] = {"quote", eval_quote},    [SF_IF] = {"if", eval_if},
    [SF_DEFINE] = {"define", eval_define}, [SF_SET] = {"set!", eval_set},
    [SF_LAMBDA] = {"lambda", eval_lambda}, [SF_BEGIN] = {"begin", eval_begin},
};

/* Reports "NAME expects [at least] N argument(s), got GOT". */
static value *wrong_arity(const interp *in, const char *name, int n, bool at_least, long got) {
    return fail(in, NULL, "%s expects %s%d argument%s, got %ld", name, at_least ? "at least " : "",
                n, n == 1 ? "" : "s", got);
}

/* Calls a closure: its body, in a new frame that binds its parameters to
 * args and extends the frame the closure was made in. */
static value *apply_closure(interp *in, closure *c, value *args) {
    long argc = list_length(args), wanted = list_length(c->params);
    if (argc != wanted)
        return wrong_arity(in, c->name ? c->name->name : "lambda", (int)wanted, false, argc);
    rc_auto frame *env = new_frame(in, c->env, (size_t)argc);
    if (env == NULL)
        return NULL;
    for (value *p = c->params; p != in->nil; p = cdr(p), args = cdr(args))
        if (define_binding(in, env, car(p), car(args)) != 0)
            return NULL;
    return eval_sequence(in, c->body, env);
}

static value *apply(interp *in, value *fn, value *args) {
    if (is(fn, &closure_type))
        return apply_closure(in, fn, args);
    if (!is(fn, &builtin_type))
        return fail(in, fn, "not a procedure:");
    const builtin_spec *spec = ((builtin *)fn)->spec;
    long argc = list_length(args);
    if (argc < spec->min_args || (spec->max_args >= 0 && argc > spec->max_args))
        return wrong_arity(in, spec->name, spec->min_args, spec->max_args < 0, argc);
    return spec->fn(in, args);
}

/* (fn arg...): the operator, then the arguments left to right into a
 * fresh list, then the call. */
static value *eval_call(interp *in, value *form, frame *env) {
    rc_auto value *fn = eval(in, car(form), env);
    if (fn == NULL)
        return NULL;
    rc_auto value *args = rc_incref(in->nil);
    value **tail = &args;
    for (value *x = cdr(form); x != in->nil; x = cdr(x)) {
        rc_auto value *arg = eval(in, car(x), env);
        if (arg == NULL || !append(in, &tail, arg, 0))
            return NULL;
    }
    return apply(in, fn, args);
}

/* A symbol's value; a list is a special form or a call; anything else
 * evaluates to itself. Each list being evaluated counts against MAX_DEPTH
 * and records its line for tracemalloc (script_frames). */
static value *eval(interp *in, value *expr, frame *env) {
    if (is(expr, &symbol_type)) {
        binding *b = find_binding(env, expr);
        return b ? rc_incref(b->value) : fail(in, expr, "unbound symbol:");
    }
    if (!is(expr, &pair_type))
        return rc_incref(expr);
    if (in->depth == MAX_DEPTH)
        return fail(in, NULL, "recursion too deep (%d nested forms)", MAX_DEPTH);
    unsigned line = ((pair *)expr)->line;
    in->depth++;
    in->line_at[in->depth] = line ? line : in->line_at[in->depth - 1];
    int sf = 0;
    while (sf < SF_COUNT && car(expr) != in->special[sf])
        sf++;
    value *result =
        sf < SF_COUNT ? special_forms[sf].eval(in, expr, env) : eval_call(in, expr, env);
    in->depth--;
    return result;
}

/* ------------------------------------------------------------- builtins
 * Each gets its arguments as a list (borrowed), already checked against
 * its arity, and returns a new reference or NULL after reporting. */

/* Folds the integer arguments with op ('+', '-' or '*') without signed
 * overflow; (- x) is 0 - x, and (- x y...) starts from x. */
static value *arithmetic(interp *in, value *args, char op) {
    const char who[] = {op, '\0'};
    long acc = op == '*' ? 1 : 0;
    bool from_first = op == '-' && list_length(args) > 1;
    for (value *a = args; a != in->nil; a = cdr(a)) {
        if (!want(in, car(a), &integer_type, who))
            return NULL;
        long x = int_value(car(a));
        bool overflow;
        if (op == '+' || (a == args && from_first))
            overflow = __builtin_add_overflow(acc, x, &acc);
        else if (op == '-')
            overflow = __builtin_sub_overflow(acc, x, &acc);
        else
            overflow = __builtin_mul_overflow(acc, x, &acc);
        if (overflow)
            return fail(in, NULL, "integer overflow in %c", op);
    }
    return new_integer(in, acc);
}

static value *builtin_add(interp *in, value *args) { return arithmetic(in, args, '+'); }
static value *builtin_sub(interp *in, value *args) { return arithmetic(in, args, '-'); }
static value *builtin_mul(interp *in, value *args) { return arithmetic(in, args, '*'); }

/* (< a b) and (= a b) on integers. */
static value *compare(interp *in, value *args, char op) {
    const char who[] = {op, '\0'};
    value *a = nth(args, 0), *b = nth(args, 1);
    if (!want(in, a, &integer_type, who) || !want(in, b, &integer_type, who))
        return NULL;
    return boolean(in, op == '<' ? int_value(a) < int_value(b) : int_value(a) == int_value(b));
}

static value *builtin_less(interp *in, value *args) { return compare(in, args, '<'); }
static value *builtin_equal(interp *in, value *args) { return compare(in, args, '='); }

static value *builtin_cons(interp *in, value *args) {
    return new_pair(in, car(args), nth(args, 1), 0);
}

static value *builtin_car(interp *in, value *args) {
    return want(in, car(args), &pair_type, "car") ? rc_incref(car(car(args))) : NULL;
}

static value *builtin_cdr(interp *in, value *args) {
    return want(in, car(args), &pair_type, "cdr") ? rc_incref(cdr(car(args))) : NULL;
}

/* The argument list is a fresh list already: (list x...) is it. */
static value *builtin_list(interp *in, value *args) {
    (void)in;
    return rc_incref(args);
}

static value *builtin_null(interp *in, value *args) { return boolean(in, car(args) == in->nil); }

static value *builtin_display(interp *in, value *args) {
    display(in, car(args));
    return rc_incref(in->unspecified);
}

static value *builtin_newline(interp *in, value *args) {
    (void)args;
    putchar('\n');
    return rc_incref(in->unspecified);
}

/* (gc): a full collection; how many unreachable objects it found. */
static value *builtin_gc(interp *in, value *args) {
    (void)args;
    long found = rc_gc_collect(in->heap, 2);
    return found < 0 ? fail(in, NULL, "gc: %s", strerror(errno)) : new_integer(in, found);
}

/* (symbol-count): how many symbols the table holds, all of them alive. */
static value *builtin_symbol_count(interp *in, value *args) {
    (void)args;
    return new_integer(in, (long)in->symbol_count);
}

/* (open 'name): a new port. */
static value *builtin_open(interp *in, value *args) {
    if (!want(in, car(args), &symbol_type, "open"))
        return NULL;
    port *p = rc_new(in->heap, &port_type);
    if (p == NULL)
        return out_of_memory(in);
    p->name = rc_incref(car(args));
    return p;
}

/* (memory-report n): the n script lines holding the most live memory, as
 * tracemalloc's "top lines" recipe prints them: sizes and counts by line,
 * no addresses, so the same script gives the same report. */
static value *builtin_memory_report(interp *in, value *args) {
    if (!want(in, car(args), &integer_type, "memory-report"))
        return NULL;
    if (int_value(car(args)) < 1)
        return fail(in, car(args), "memory-report expects a count of lines, got");
    rc_snapshot *snapshot = rc_tracemalloc_take_snapshot(in->heap);
    size_t limit = (size_t)int_value(car(args));
    int status = snapshot ? rc_snapshot_print_top(stdout, snapshot, RC_KEY_LINENO, limit) : -1;
    int error = errno;
    rc_snapshot_free(snapshot);
    if (status != 0)
        return fail(in, NULL, "memory-report: %s", strerror(error));
    return rc_incref(in->unspecified);
}

static const builtin_spec builtins[] = {
    {"+", builtin_add, 0, -1},          {"-", builtin_sub, 1, -1},
    {"*", builtin_mul, 0, -1},          {"<", builtin_less, 2, 2},
    {"=", builtin_equal, 2, 2},         {"cons", builtin_cons, 2, 2},
    {"car", builtin_car, 1, 1},         {"cdr", builtin_cdr, 1, 1},
    {"list", builtin_list, 0, -1},      {"null?", builtin_null, 1, 1},
    {"display", builtin_display, 1, 1}, {"newline", builtin_newline, 0, 0},
    {"gc", builtin_gc, 0, 0},           {"symbol-count", builtin_symbol_count, 0, 0},
    {"open", builtin_open, 1, 1},       {"memory-report", builtin_memory_report, 1, 1},
};

/* ---------------------------------------------------------- the session */

/* tracemalloc's frame provider: the lines of the lists being evaluated,
 * innermost first (while reading, the line the form starts on), so that
 * allocations are blamed on script lines rather than on this file. */
static int script_frames(rc_frame *frames, int max, void *arg) {
    const interp *in = arg;
    int n = 0;
    for (int d = in->depth; d >= 0 && n < max; d--)
        frames[n++] = (rc_frame){.filename = in->filename, .lineno = in->line_at[d]};
    return n;
}

/* Makes the heap, the constants, the special forms' names, and the global
 * frame binding the builtins. false on failure (interp_free cleans up). */
static bool interp_init(interp *in) {
    if ((in->heap = rc_heap_new()) == NULL)
        return false;
    value **constants[] = {&in->nil, &in->true_value, &in->false_value, &in->unspecified};
    const char *texts[] = {"()", "#t", "#f", "#<unspecified>"};
    for (int i = 0; i < 4; i++) {
        constant *c = rc_new(in->heap, &constant_type);
        if ((*constants[i] = c) == NULL)
            return false;
        c->text = texts[i];
    }
    for (int i = 0; i < SF_COUNT; i++) {
        const char *name = special_forms[i].name;
        if ((in->special[i] = intern(in, name, strlen(name))) == NULL)
            return false;
    }
    if ((in->global = new_frame(in, NULL, 0)) == NULL)
        return false;
    for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++) {
        rc_auto builtin *b = rc_new(in->heap, &builtin_type);
        rc_auto symbol *name = intern(in, builtins[i].name, strlen(builtins[i].name));
        if (b == NULL || name == NULL)
            return false;
        b->spec = &builtins[i];
        if (define_binding(in, in->global, name, b) != 0)
            return false;
    }
    return true;
}

/* Reads and evaluates each top-level form, printing its value. An error
 * abandons that form only; after a reading error, the rest of its line
 * goes too (it is likely the remains of the bad form). */
static void run(interp *in, FILE *fp) {
    reader r = {fp, 1};
    for (;;) {
        skip_space(&r);
        in->line_at[0] = r.line;
        rc_auto value *form = NULL;
        read_status status = read_datum(in, &r, &form, 0);
        if (status == READ_END)
            return;
        if (status == READ_ERROR)
            for (int c = next_char(&r); c != '\n' && c != EOF; c = next_char(&r))
                continue;
        rc_auto value *result = status == READ_OK ? eval(in, form, in->global) : NULL;
        if (result && result != in->unspecified) {
            fputs("=> ", stdout);
            display(in, result);
            putchar('\n');
        }
    }
}

/* Drops the interpreter's references, lets the collector free the cycles
 * that leaves (the global frame and the closures defined in it point at
 * each other), then frees the heap. Returns rc_heap_free's count of
 * leaked objects; *symbols_left: the symbols still interned before that. */
static size_t interp_free(interp *in, size_t *symbols_left) {
    RC_CLEAR(in->global);
    for (int i = 0; i < SF_COUNT; i++)
        RC_CLEAR(in->special[i]);
    RC_CLEAR(in->nil);
    RC_CLEAR(in->true_value);
    RC_CLEAR(in->false_value);
    RC_CLEAR(in->unspecified);
    if (in->heap)
        rc_gc_collect(in->heap, 2);
    *symbols_left = in->symbol_count;
    return rc_heap_free(in->heap);
}

int main(int argc, char **argv) {
    if (argc > 2) {
        fputs("usage: interp [FILE]\n", stderr);
        return 2;
    }
    FILE *fp = argc == 2 ? fopen(argv[1], "r") : stdin;
    if (fp == NULL) {
        perror(argv[1]);
        return 2;
    }
    static interp in; /* static: line_at is 4 KB */
    in.filename = argc == 2 ? argv[1] : "<stdin>";
    bool ready = interp_init(&in);
    if (ready) {
        /* Traced from the first form on, each allocation with its line. */
        rc_tracemalloc_set_frame_provider(in.heap, script_frames, &in);
        if (rc_tracemalloc_start(in.heap, 1) != 0)
            perror("interp: rc_tracemalloc_start");
        run(&in, fp);
    } else {
        fputs("interp: out of memory\n", stderr);
    }
    if (fp != stdin)
        fclose(fp);
    size_t symbols_left, leaked = interp_free(&in, &symbols_left);
    printf("at exit: %zu symbols interned, rc_heap_free: %zu objects leaked\n", symbols_left,
           leaked);
    return ready && leaked == 0 ? 0 : 1;
}
