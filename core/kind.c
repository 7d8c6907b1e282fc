#include "kind.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kind tables, one NULL-terminated list per file (core/kinds*.c). */
extern const vc_kind_t *const vc__kinds_base[];
extern const vc_kind_t *const vc__kinds_io[];
extern const vc_kind_t *const vc__kinds_platform[];

#define VC_KINDS_MAX 128
static const vc_kind_t *vc__kinds[VC_KINDS_MAX + 1];

const vc_kind_t *const *vc_kinds(void)
{
    if (!vc__kinds[0]) {
        const vc_kind_t *const *lists[] = {vc__kinds_base, vc__kinds_io, vc__kinds_platform};
        size_t n = 0;
        for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
            for (const vc_kind_t *const *k = lists[l]; *k && n < VC_KINDS_MAX; k++)
                vc__kinds[n++] = *k;
        vc__kinds[n] = NULL;
    }
    return vc__kinds;
}

const vc_kind_t *vc_kind_find(const char *name)
{
    for (const vc_kind_t *const *k = vc_kinds(); *k; k++)
        if (strcmp((*k)->name, name) == 0) return *k;
    return NULL;
}

int vc_kind_field(const vc_kind_t *k, const char *name)
{
    for (size_t i = 0; i < k->nfields; i++)
        if (strcmp(k->fields[i].name, name) == 0) return (int)i;
    return -1;
}

/* Edits from a to b, ignoring case: insertions, deletions, substitutions
 * and swaps of two neighbours ("tga" is one edit from "tag"). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return SIZE_MAX;
    size_t rows[3][65], *prev2 = rows[0], *prev = rows[1], *row = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
#define LC(c) tolower((unsigned char)(c))
    for (size_t i = 1; i <= la; i++) {
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (LC(a[i - 1]) != LC(b[j - 1]));
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            if (i > 1 && j > 1 && LC(a[i - 1]) == LC(b[j - 2]) && LC(a[i - 2]) == LC(b[j - 1]) &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            row[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev, prev = row, row = t;
    }
#undef LC
    return prev[lb];
}

/* How many characters a and b share at their start, ignoring case. */
static size_t common_prefix(const char *a, const char *b)
{
    size_t n = 0;
    while (a[n] && tolower((unsigned char)a[n]) == tolower((unsigned char)b[n]))
        n++;
    return n;
}

static const char *nearest(const char *name, const char *(*at)(const void *, size_t),
                           const void *set, size_t n)
{
    /* At most 3 edits, and fewer than half the name: "zzz" is not "id". At
     * the same distance the candidate sharing the longest start with the
     * name wins ("vcpu": "vcpus", not "cpu"), whatever the order of the set
     * (a pod's field names come from a Lua table, in no order); a name cut
     * short at its end is thus preferred to other edits. Then set order. */
    const char *best = NULL;
    size_t len = strlen(name), limit = len / 2 + 1 < 4 ? len / 2 + 1 : 4, best_d = 0, best_p = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = at(set, i);
        size_t d = distance(name, c);
        if (d >= limit) continue;
        size_t p = common_prefix(name, c);
        if (!best || d < best_d || (d == best_d && p > best_p)) {
            best = c;
            best_d = d;
            best_p = p;
        }
    }
    return best;
}

static const char *field_at(const void *set, size_t i)
{
    return ((const vc_kind_t *)set)->fields[i].name;
}

static const char *kind_at(const void *set, size_t i)
{
    return ((const vc_kind_t *const *)set)[i]->name;
}

const char *vc_kind_suggest(const vc_kind_t *k, const char *name)
{
    return nearest(name, field_at, k, k->nfields);
}

static const char *name_at(const void *set, size_t i)
{
    return ((const char *const *)set)[i];
}

const char *vc_suggest(const char *name, const char *const *names, size_t n)
{
    return nearest(name, name_at, names, n);
}

const char *vc_kind_suggest_kind(const char *name)
{
    size_t n = 0;
    const vc_kind_t *const *all = vc_kinds();
    while (all[n])
        n++;
    return nearest(name, kind_at, all, n);
}

const char *vc_type_name(vc_type_t t)
{
    switch (t) {
    case VC_T_STR:
        return "string";
    case VC_T_INT:
        return "integer";
    case VC_T_BOOL:
        return "boolean";
    case VC_T_ENUM:
        return "enum";
    case VC_T_ID:
        return "id";
    case VC_T_PATH:
        return "path";
    case VC_T_SIZE:
        return "size";
    case VC_T_PCI_ADDR:
        return "pci-addr";
    case VC_T_FEATURES:
        return "features";
    }
    return "?";
}

const char *vc_type_phrase(vc_type_t t)
{
    switch (t) {
    case VC_T_INT:
        return "an integer";
    case VC_T_ENUM:
        return "an enum value";
    case VC_T_ID:
        return "an id";
    case VC_T_STR:
        return "a string";
    case VC_T_BOOL:
        return "a boolean";
    case VC_T_PATH:
        return "a path";
    case VC_T_SIZE:
        return "a size";
    case VC_T_PCI_ADDR:
        return "a PCI address";
    case VC_T_FEATURES:
        return "a feature list";
    }
    return "a value";
}

int vc_dev_new(const vc_kind_t *k, vc_dev_t **out, vc_error_t *err)
{
    vc_dev_t *d = calloc(1, sizeof *d);
    if (d) d->v = calloc(k->nfields ? k->nfields : 1, sizeof *d->v);
    if (!d || !d->v) {
        free(d);
        return vc_error_set(err, -ENOMEM, "out of memory");
    }
    d->kind = k;
    *out = d;
    return 0;
}

void vc_dev_free(vc_dev_t *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->kind->nfields; i++)
        free(d->v[i].s);
    free(d->v);
    free(d);
}

const char *vc_dev_get(const vc_dev_t *d, const char *name)
{
    int i = vc_kind_field(d->kind, name);
    return i >= 0 && d->v[i].set ? d->v[i].s : NULL;
}

/* Says in err which device, and which of its fields (f < 0: none), an error
 * set just before is about. */
static void tag(const vc_dev_t *d, int f, vc_error_t *err)
{
    const char *id = vc_dev_get(d, "id");
    err->device = d->kind->name;
    err->field = f >= 0 ? d->kind->fields[f].name : NULL;
    snprintf(err->id, sizeof err->id, "%s", id ? id : "");
}

/* "<kind> 'id': field 'f': what" into buf */
static void describe(const vc_dev_t *d, int f, const char *what, char *buf, size_t size)
{
    const char *id = vc_dev_get(d, "id");
    char prefix[256];
    if (id)
        snprintf(prefix, sizeof prefix, "%s '%s'", d->kind->name, id);
    else
        snprintf(prefix, sizeof prefix, "%s", d->kind->name);
    if (f >= 0)
        snprintf(buf, size, "%s: field '%s': %s", prefix, d->kind->fields[f].name, what);
    else
        snprintf(buf, size, "%s: %s", prefix, what);
}

static int field_error(const vc_dev_t *d, int f, vc_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int field_error(const vc_dev_t *d, int f, vc_error_t *err, int code, const char *fmt, ...)
{
    if (!err) return code;
    char what[VC_ERRMSG_MAX], msg[VC_ERRMSG_MAX + 300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    describe(d, f, what, msg, sizeof msg);
    vc_error_set(err, code, "%s", msg);
    tag(d, f, err);
    return code;
}

static void warn_stderr(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "vclaunch: warning: %s\n", msg);
}

static vc_warn_cb warn_cb = warn_stderr;
static void *warn_ud;

void vc_kind_set_warn(vc_warn_cb cb, void *ud)
{
    warn_cb = cb ? cb : warn_stderr;
    warn_ud = cb ? ud : NULL;
}

void vc_dev_warn(const vc_dev_t *d, const char *field, const char *fmt, ...)
{
    char what[VC_ERRMSG_MAX], msg[VC_ERRMSG_MAX + 300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    describe(d, field ? vc_kind_field(d->kind, field) : -1, what, msg, sizeof msg);
    warn_cb(msg, warn_ud);
}

int vc_dev_error(const vc_dev_t *d, const char *field, vc_error_t *err, const char *fmt, ...)
{
    char what[VC_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int f = field ? vc_kind_field(d->kind, field) : -1;
    return field_error(d, f, err, VC_ERECIPE, "%s", what);
}

static int store(vc_dev_t *d, int f, long long i, const char *text)
{
    char *copy = strdup(text);
    if (!copy) return -ENOMEM;
    free(d->v[f].s);
    d->v[f] = (vc_value_t){.set = 1, .i = i, .s = copy};
    return 0;
}

/* One more value of a VC_F_LIST field: "old\nnew" (set refuses control
 * characters, so '\n' separates values). */
static int append(vc_dev_t *d, int f, const char *s, vc_error_t *err)
{
    vc_value_t *v = &d->v[f];
    size_t a = strlen(v->s), b = strlen(s);
    char *joined = malloc(a + b + 2);
    if (!joined) return vc_error_set(err, -ENOMEM, "out of memory");
    memcpy(joined, v->s, a);
    joined[a] = '\n';
    memcpy(joined + a + 1, s, b + 1);
    free(v->s);
    v->s = joined;
    return 0;
}

static int check_text(const vc_dev_t *d, int f, const char *s, vc_error_t *err)
{
    int c = vc_control_char(s);
    if (c) return field_error(d, f, err, VC_ERECIPE, "holds a control character (0x%02x)", c);
    return 0;
}

static int parse_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, char *out, size_t size)
{
    const char *p = s;
    if (!isdigit((unsigned char)*p)) return -1;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p && !strchr("kKmMgGtT", *p)) return -1;
    if (*p && p[1]) return -1;
    snprintf(out, size, "%.*s%c", (int)(p - s), s, *p ? toupper((unsigned char)*p) : '\0');
    return 0;
}

#define PCI_SLOT_MAX 0x1f
#define PCI_FUNCTION_MAX 7

/* QEMU's reading of a PCI addr on the command line (set_pci_devfn): the
 * slot in hex (strtoul base 16, so "0x" may lead), at most 1f, then
 * optionally '.' and the function in decimal, at most 7. Whitespace and
 * signs, which strtoul would skip, are not taken. */
static int pci_addr_ok(const char *s)
{
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2])) p += 2;
    if (!isxdigit((unsigned char)*p)) return 0;
    unsigned long slot = 0;
    for (; isxdigit((unsigned char)*p); p++) {
        slot = slot * 16 + (unsigned long)(isdigit((unsigned char)*p)
                                               ? *p - '0'
                                               : tolower((unsigned char)*p) - 'a' + 10);
        if (slot > PCI_SLOT_MAX) return 0;
    }
    if (*p == '\0') return 1;
    if (*p++ != '.' || !isdigit((unsigned char)*p)) return 0;
    unsigned long fn = 0;
    for (; isdigit((unsigned char)*p); p++) {
        fn = fn * 10 + (unsigned long)(*p - '0');
        if (fn > PCI_FUNCTION_MAX) return 0;
    }
    return *p == '\0';
}

static int feature_name_char(int c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/* One item of a VC_T_FEATURES list, len bytes at s: +name, -name, or
 * name=value with value on, off, true, false or a decimal integer. */
static int feature_ok(const char *s, size_t len)
{
    size_t n = 0;
    if (len && (s[0] == '+' || s[0] == '-')) n = 1;
    size_t name = n;
    while (n < len && feature_name_char((unsigned char)s[n]))
        n++;
    if (n == name || !isalnum((unsigned char)s[name])) return 0;
    if (name == 1) return n == len; /* +name / -name */
    if (n == len || s[n] != '=') return 0;
    const char *v = s + n + 1;
    size_t vlen = len - n - 1;
    static const char *const words[] = {"on", "off", "true", "false"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (vlen == strlen(words[i]) && strncmp(v, words[i], vlen) == 0) return 1;
    if (vlen == 0 || vlen > 18) return 0;
    for (size_t i = 0; i < vlen; i++)
        if (!isdigit((unsigned char)v[i])) return 0;
    return 1;
}

static int check_features(const vc_dev_t *d, int f, const char *s, vc_error_t *err)
{
    if (!*s) return field_error(d, f, err, VC_ERECIPE, "empty feature list");
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        if (len == 0)
            return field_error(d, f, err, VC_ERECIPE,
                               "\"%s\" has an empty item: features are separated by one comma "
                               "(QEMU's -cpu parser does not take a doubled comma as a comma)",
                               s);
        if (!feature_ok(p, len))
            return field_error(d, f, err, VC_ERECIPE,
                               "\"%.*s\" is not a feature like +name, -name or name=on|off|"
                               "true|false|<integer> (names: letters, digits, '.', '_', '-')",
                               (int)len, p);
        if (!p[len]) return 0;
        p += len + 1;
    }
}

static int refused(const vc_dev_t *d, int f, vc_error_t *err)
{
    const vc_field_t *fd = &d->kind->fields[f];
    if (!(fd->flags & VC_F_REFUSED)) return 0;
    return field_error(d, f, err, VC_ERECIPE, "%s", fd->doc ? fd->doc : "is refused");
}

int vc_dev_set_int(vc_dev_t *d, int f, long long i, vc_error_t *err)
{
    const vc_field_t *fd = &d->kind->fields[f];
    char text[32];
    snprintf(text, sizeof text, "%lld", i);
    if (refused(d, f, err)) return VC_ERECIPE;
    switch (fd->type) {
    case VC_T_INT:
        if ((fd->min || fd->max) && (i < fd->min || i > fd->max))
            return field_error(d, f, err, VC_ERECIPE, "%lld is out of range (%lld to %lld)", i,
                               fd->min, fd->max);
        break;
    case VC_T_SIZE:
        if (i <= 0) return field_error(d, f, err, VC_ERECIPE, "size %lld is not positive", i);
        break;
    case VC_T_PCI_ADDR:
        /* QEMU reads addr in hex: slot 16 is written 10 (as govmm does) */
        if (i < 0 || i > PCI_SLOT_MAX)
            return field_error(d, f, err, VC_ERECIPE,
                               "%lld is not a PCI slot (0 to %d); give slot.function as text "
                               "(\"1f.7\")",
                               i, PCI_SLOT_MAX);
        snprintf(text, sizeof text, "%llx", i);
        break;
    default:
        return field_error(d, f, err, VC_ERECIPE, "expected %s, got an integer",
                           vc_type_phrase(fd->type));
    }
    return store(d, f, i, text) ? vc_error_set(err, -ENOMEM, "out of memory") : 0;
}

int vc_dev_set_bool(vc_dev_t *d, int f, int b, vc_error_t *err)
{
    const vc_field_t *fd = &d->kind->fields[f];
    if (refused(d, f, err)) return VC_ERECIPE;
    if (fd->type != VC_T_BOOL)
        return field_error(d, f, err, VC_ERECIPE, "expected %s, got a boolean",
                           vc_type_phrase(fd->type));
    return store(d, f, !!b, b ? "on" : "off") ? vc_error_set(err, -ENOMEM, "out of memory") : 0;
}

int vc_dev_set_str(vc_dev_t *d, int f, const char *s, vc_error_t *err)
{
    const vc_field_t *fd = &d->kind->fields[f];
    if (refused(d, f, err)) return VC_ERECIPE;
    int rc = check_text(d, f, s, err);
    if (rc) return rc;
    long long i = 0;
    char size[64];
    switch (fd->type) {
    case VC_T_INT:
        if (parse_int(s, &i))
            return field_error(d, f, err, VC_ERECIPE, "expected an integer, got \"%s\"", s);
        return vc_dev_set_int(d, f, i, err);
    case VC_T_BOOL:
        if (!strcmp(s, "on") || !strcmp(s, "true")) return vc_dev_set_bool(d, f, 1, err);
        if (!strcmp(s, "off") || !strcmp(s, "false")) return vc_dev_set_bool(d, f, 0, err);
        return field_error(d, f, err, VC_ERECIPE, "expected a boolean, got \"%s\"", s);
    case VC_T_SIZE:
        if (strlen(s) >= 32 || parse_size(s, size, sizeof size))
            return field_error(d, f, err, VC_ERECIPE,
                               "expected a size like 512M or 2G or bytes, got \"%s\"", s);
        if (strspn(size, "0") == strspn(size, "0123456789"))
            return field_error(d, f, err, VC_ERECIPE, "size \"%s\" is not positive", s);
        s = size;
        break;
    case VC_T_ENUM: {
        int ok = 0;
        char list[512] = "";
        for (const char *const *v = fd->values; *v; v++) {
            if (!strcmp(*v, s)) ok = 1;
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", *v);
        }
        if (!ok) return field_error(d, f, err, VC_ERECIPE, "\"%s\" is not one of: %s", s, list);
        break;
    }
    case VC_T_ID: {
        vc_error_t e;
        if (vc_id_check(s, "id", &e)) return field_error(d, f, err, VC_ERECIPE, "%s", e.msg);
        break;
    }
    case VC_T_PATH:
        if (!*s) return field_error(d, f, err, VC_ERECIPE, "empty path");
        break;
    case VC_T_PCI_ADDR:
        if (!pci_addr_ok(s))
            return field_error(d, f, err, VC_ERECIPE,
                               "\"%s\" is not a PCI address as QEMU reads it: slot[.function], "
                               "slot in hex 0 to 1f, function 0 to 7 (\"0x1f\", \"06.1\"), or "
                               "the slot as an integer",
                               s);
        break;
    case VC_T_FEATURES:
        rc = check_features(d, f, s, err);
        if (rc) return rc;
        break;
    case VC_T_STR:
        if ((fd->flags & VC_F_LIST) && d->v[f].set) return append(d, f, s, err);
        break;
    }
    return store(d, f, i, s) ? vc_error_set(err, -ENOMEM, "out of memory") : 0;
}

static const char *transport_suffix(const vc_dev_t *d)
{
    const char *t = vc_dev_get(d, "transport");
    if (!t) return NULL;
    return strcmp(t, "mmio") == 0 ? "device" : t;
}

static unsigned transport_flag(const vc_dev_t *d)
{
    const char *t = vc_dev_get(d, "transport");
    if (!t) return 0;
    return !strcmp(t, "pci") ? VC_F_PCI : !strcmp(t, "ccw") ? VC_F_CCW : VC_F_MMIO;
}

#define VC_F_TRANSPORTS (VC_F_PCI | VC_F_CCW | VC_F_MMIO)

static int applies(const vc_dev_t *d, const vc_field_t *fd)
{
    return !(fd->flags & VC_F_TRANSPORTS) || (fd->flags & transport_flag(d));
}

int vc_dev_finish(vc_dev_t *d, vc_error_t *err)
{
    for (size_t f = 0; f < d->kind->nfields; f++) {
        const vc_field_t *fd = &d->kind->fields[f];
        if (d->v[f].set && !applies(d, fd))
            return field_error(d, (int)f, err, VC_ERECIPE, "applies to the %s transport only",
                               fd->flags & VC_F_PCI   ? "pci"
                               : fd->flags & VC_F_CCW ? "ccw"
                                                      : "mmio");
        if (!applies(d, fd)) continue;
        if (d->v[f].set) continue;
        if (fd->def) {
            int rc = vc_dev_set_str(d, (int)f, fd->def, err);
            if (rc) return rc;
        } else if (fd->flags & VC_F_REQUIRED) {
            return field_error(d, (int)f, err, VC_ERECIPE, "is required");
        }
    }
    return d->kind->check ? d->kind->check(d, err) : 0;
}

static int emit_opt(const vc_dev_t *d, size_t o, vc_argv_t *argv, vc_error_t *err)
{
    const vc_kind_t *k = d->kind;
    const vc_opt_t *opt = &k->opts[o];
    vc_buf_t b = VC_BUF_INIT;
    int any = 0, rc = 0;
    if (opt->style == VC_OPT_FLAG) {
        for (size_t f = 0; f < k->nfields; f++)
            if (k->fields[f].opt == (int)o && d->v[f].set && d->v[f].i) any = 1;
        if (any && vc_argv_push(argv, opt->flag))
            return vc_error_set(err, -ENOMEM, "out of memory");
        return 0;
    }
    if (opt->head) {
        const char *t = strstr(opt->head, "%t");
        if (t && opt->style == VC_OPT_KV) {
            const char *suffix = transport_suffix(d);
            if (!suffix) {
                vc_buf_free(&b);
                return field_error(d, -1, err, VC_ERECIPE, "no transport set");
            }
            rc = vc_buf_printf(&b, "%.*s%s%s", (int)(t - opt->head), opt->head, suffix, t + 2);
        } else {
            rc = vc_buf_puts(&b, opt->head);
        }
    }
    /* positional fields first, then key=value in field order */
    for (int pass = 0; rc == 0 && pass < 2; pass++) {
        for (size_t f = 0; rc == 0 && f < k->nfields; f++) {
            const vc_field_t *fd = &k->fields[f];
            const char *key = fd->opt == (int)o                ? fd->key
                              : fd->key2 && fd->opt2 == (int)o ? fd->key2
                                                               : NULL;
            if (!key || !d->v[f].set || !applies(d, fd)) continue;
            int positional = key[0] == '\0';
            if (positional != (pass == 0)) continue;
            any = 1;
            if (opt->style == VC_OPT_RAW) {
                rc = vc_buf_puts(&b, d->v[f].s);
                continue;
            }
            if (b.len) rc = vc_buf_puts(&b, ",");
            if (rc == 0 && !positional) rc = vc_buf_printf(&b, "%s=", key);
            if (rc == 0 && (fd->flags & VC_F_LIST)) {
                /* key=value once per value; the first key is written above */
                const char *item = d->v[f].s;
                for (;;) {
                    size_t n = strcspn(item, "\n");
                    char *one = strndup(item, n);
                    char what[128];
                    snprintf(what, sizeof what, "%s field '%s'", k->name, fd->name);
                    rc = one ? vc_escape_value(&b, one, what, err) : -ENOMEM;
                    free(one);
                    if (rc && rc != -ENOMEM && err) tag(d, (int)f, err);
                    if (rc || !item[n]) break;
                    item += n + 1;
                    rc = vc_buf_printf(&b, ",%s=", key);
                    if (rc) break;
                }
            } else if (rc == 0 && fd->type == VC_T_FEATURES) {
                /* checked when set: items without commas, joined by single
                 * commas that QEMU must see as separators */
                rc = vc_buf_puts(&b, d->v[f].s);
            } else if (rc == 0) {
                char what[128];
                snprintf(what, sizeof what, "%s field '%s'", k->name, fd->name);
                rc = vc_escape_value(&b, d->v[f].s, what, err);
                if (rc && rc != -ENOMEM && err) tag(d, (int)f, err);
            }
        }
    }
    if (rc == 0 && (any || opt->head) && (any || opt->style == VC_OPT_KV))
        rc = vc_argv_push2(argv, opt->flag, b.data ? b.data : "");
    vc_buf_free(&b);
    if (rc == -ENOMEM) vc_error_set(err, rc, "out of memory");
    return rc;
}

int vc_dev_emit(const vc_dev_t *d, vc_argv_t *argv, vc_error_t *err)
{
    size_t mark = argv->n;
    for (size_t o = 0; o < d->kind->nopts; o++) {
        int rc = emit_opt(d, o, argv, err);
        if (rc) {
            while (argv->n > mark)
                free(argv->v[--argv->n]);
            if (argv->v) argv->v[argv->n] = NULL;
            return rc;
        }
    }
    return 0;
}

int vc_dev_ids(const vc_dev_t *d, vc_argv_t *ids, vc_error_t *err)
{
    for (size_t f = 0; f < d->kind->nfields; f++) {
        const vc_field_t *fd = &d->kind->fields[f];
        if (!(fd->flags & VC_F_DEFINES_ID) || !d->v[f].set || !applies(d, fd)) continue;
        if (vc_argv_push(ids, d->v[f].s)) return vc_error_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

/* For core/hotplug.c: the same transport suffix and field scoping as the
 * command line. */
const char *vc__dev_transport_suffix(const vc_dev_t *d)
{
    return transport_suffix(d);
}

int vc__dev_field_applies(const vc_dev_t *d, const vc_field_t *fd)
{
    return applies(d, fd);
}
