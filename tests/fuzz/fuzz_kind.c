/* libFuzzer target: the kind tables, their setters, checks and emitter.
 *
 * Input: the first byte picks a kind from vc_kinds(); the rest is a list of
 * operations, each "op field ..." where field is an index into the kind's
 * fields and op says what follows:
 *   0 text:   a length byte and that many bytes (cut at a NUL, as C sees it);
 *             the first text op with op's top bit set also gives the text
 *             to the field and kind suggestions
 *   1 int:    8 bytes, little endian
 *   2 int:    1 byte, signed (small values land inside ranges)
 *   3 bool:   1 byte
 *   4 valid:  1 byte choosing one of the field's enum values, its default,
 *             or a well-formed id, so inputs get past validation quickly
 * Then vc_dev_finish, and on success vc_dev_emit and both renderings of the
 * argv. Checked: a failed call leaves a message and a negative code, a
 * failed emit leaves the argv as it was, no emitted word holds a control
 * character (escaping refuses them). Leaks and memory errors are the
 * sanitizers'. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "kind.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct input {
    const uint8_t *p;
    size_t left;
} input_t;

static int take(input_t *in, uint8_t *b)
{
    if (!in->left) return 0;
    *b = *in->p++;
    in->left--;
    return 1;
}

/* A failed call says why. */
static void check_rc(int rc, const vc_error_t *err)
{
    CHECK(rc <= 0);
    if (rc) CHECK(err->code == rc && err->msg[0]);
}

static size_t count_kinds(void)
{
    size_t n = 0;
    for (const vc_kind_t *const *k = vc_kinds(); *k; k++)
        n++;
    return n;
}

static void set_valid(vc_dev_t *d, int f, uint8_t pick, vc_error_t *err)
{
    const vc_field_t *fd = &d->kind->fields[f];
    char text[32];
    const char *s = NULL;
    if (fd->values) {
        size_t n = 0;
        while (fd->values[n])
            n++;
        if (n && pick % 4) s = fd->values[pick % n];
    }
    if (!s && fd->def && pick % 2) s = fd->def;
    if (!s) {
        snprintf(text, sizeof text, "x%u", pick);
        s = text;
    }
    check_rc(vc_dev_set_str(d, f, s, err), err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static size_t nkinds;
    if (!nkinds) nkinds = count_kinds();
    CHECK(nkinds > 0);
    input_t in = {data, size};
    uint8_t b;
    if (!take(&in, &b)) return 0;
    const vc_kind_t *k = vc_kinds()[b % nkinds];
    vc_error_t err;
    vc_dev_t *d = NULL;
    CHECK(vc_dev_new(k, &d, &err) == 0);
    uint8_t op, fb;
    int suggested = 0;
    while (k->nfields && take(&in, &op) && take(&in, &fb)) {
        int f = (int)(fb % k->nfields);
        int rc;
        switch (op % 5) {
        case 0: {
            uint8_t len = 0;
            take(&in, &len);
            if (len > in.left) len = (uint8_t)in.left;
            char text[256];
            memcpy(text, in.p, len);
            text[len] = '\0';
            in.p += len;
            in.left -= len;
            rc = vc_dev_set_str(d, f, text, &err);
            check_rc(rc, &err);
            /* The suggestion paths take any text too; once per input, as
             * they walk every kind. */
            if ((op & 0x80) && !suggested) {
                suggested = 1;
                (void)vc_kind_suggest(k, text);
                (void)vc_kind_suggest_kind(text);
            }
            break;
        }
        case 1: {
            uint64_t u = 0;
            for (int i = 0; i < 8 && take(&in, &b); i++)
                u |= (uint64_t)b << (8 * i);
            long long v;
            memcpy(&v, &u, sizeof v);
            rc = vc_dev_set_int(d, f, v, &err);
            check_rc(rc, &err);
            break;
        }
        case 2:
            b = 0;
            take(&in, &b);
            rc = vc_dev_set_int(d, f, (int8_t)b, &err);
            check_rc(rc, &err);
            break;
        case 3:
            b = 0;
            take(&in, &b);
            rc = vc_dev_set_bool(d, f, b & 1, &err);
            check_rc(rc, &err);
            break;
        default:
            b = 0;
            take(&in, &b);
            set_valid(d, f, b, &err);
            break;
        }
    }
    int rc = vc_dev_finish(d, &err);
    check_rc(rc, &err);
    if (rc == 0) {
        vc_argv_t argv = VC_ARGV_INIT;
        CHECK(vc_argv_push(&argv, "qemu-system-x86_64") == 0);
        rc = vc_dev_emit(d, &argv, &err);
        check_rc(rc, &err);
        if (rc) CHECK(argv.n == 1 && argv.v[1] == NULL);
        for (size_t i = 0; i < argv.n; i++)
            CHECK(vc_control_char(argv.v[i]) == 0);
        char *shell = vc_argv_render_shell(&argv);
        char *json = vc_argv_render_json(&argv);
        CHECK(shell && json);
        free(shell);
        free(json);
        vc_argv_free(&argv);
    }
    vc_dev_free(d);
    return 0;
}
