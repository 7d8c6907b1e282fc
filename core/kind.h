/* vclaunch core: device kinds, declared once as tables of fields.
 *
 * A kind (vc_kind_t) lists the QEMU options it emits (vc_opt_t: "-device",
 * "-chardev", ...) and its fields (vc_field_t: name, type, required,
 * default, enum values, range, QEMU key and which option it lands in). The
 * one table drives validation, conversion from any front end (the Lua
 * binding iterates the fields; it has no per-field code), the emitted
 * arguments and the error messages.
 *
 * A device (vc_dev_t) is one instance of a kind: values are set field by
 * field (each set is validated), vc_dev_finish applies defaults and checks
 * required fields, vc_dev_emit appends the arguments to an argv. A device
 * owns its values; vc_dev_free releases them. No call blocks. */
#ifndef VC_KIND_H
#define VC_KIND_H

#include <stddef.h>

#include "argv.h"
#include "error.h"

typedef enum vc_type {
    VC_T_STR,  /* any text without control characters */
    VC_T_INT,  /* integer within [min, max] */
    VC_T_BOOL, /* emitted as on/off */
    VC_T_ENUM, /* one of values[] */
    VC_T_ID,   /* a QEMU id */
    VC_T_PATH, /* a file system path */
    VC_T_SIZE, /* bytes as an integer, or "<n>[KMGT]" text */
    /* A PCI slot[.function] as QEMU reads it: hex slot 0 to 1f (0x allowed),
     * function 0 to 7. An integer is a slot number, written in hex. */
    VC_T_PCI_ADDR,
    /* A list of features, "name=on,+name,-name,name=<integer>" (on, off,
     * true, false), emitted as it is: its commas separate items, so it is
     * not escaped; it is checked instead (no empty item, names of letters,
     * digits, '.', '_' and '-'). For parsers that split at every comma,
     * doubled or not (QEMU's -cpu). */
    VC_T_FEATURES,
} vc_type_t;

typedef enum vc_opt_style {
    VC_OPT_KV,   /* "[head,]key=value,..." with every value escaped */
    VC_OPT_RAW,  /* the single field's value, verbatim, after head */
    VC_OPT_FLAG, /* the flag alone, when its bool field is true */
} vc_opt_style_t;

/* A KV head may hold "%t": it is replaced by the device's transport suffix
 * ("pci", "ccw", or "device" for mmio) read from its "transport" field. */
typedef struct vc_opt {
    const char *flag; /* "-device" */
    vc_opt_style_t style;
    const char *head; /* KV: fixed first element ("virtio-blk-pci"); RAW: prefix */
} vc_opt_t;

#define VC_F_REQUIRED 1u
#define VC_F_PCI 2u  /* only with transport pci */
#define VC_F_CCW 4u  /* only with transport ccw */
#define VC_F_MMIO 8u /* only with transport mmio */
/* The value is the id of something this device creates: the device itself
 * (-device ...,id=), or a backend or object it brings along (-drive id=,
 * -netdev id=, -chardev id=, -fsdev id=, -object ...,id=). Two of those in
 * one QEMU must differ. A field that only names another's id (bus, memdev,
 * iothread, a port's chardev) does not have it. */
#define VC_F_DEFINES_ID 16u
/* A field QEMU has but vclaunch refuses whatever the value, because QEMU
 * fails badly with it (an abort): declared so that setting it says why (its
 * doc is the message) rather than "unknown field". Never emitted. */
#define VC_F_REFUSED 32u
/* A VC_T_STR field that takes several values: each vc_dev_set_str adds one
 * (kept in order; vc_dev_get gives them joined by '\n', which no value
 * holds), emitted as key=value once per value in one option (QEMU collects
 * a repeated key into a list: -netdev user,hostfwd=...,hostfwd=...), and
 * over QMP as a list of {"str": value} (QAPI's String, as hostfwd takes). */
#define VC_F_LIST 64u

typedef struct vc_field {
    const char *name; /* field name seen by recipes */
    vc_type_t type;
    unsigned flags;
    const char *def;           /* default (text form), or NULL */
    const char *const *values; /* VC_T_ENUM: NULL-terminated */
    long long min, max;        /* VC_T_INT: range (both 0: any) */
    const char *key;           /* QEMU key; "" positional; NULL not emitted */
    int opt;                   /* index into the kind's opts */
    const char *doc;
    const char *key2; /* when set, also emitted as key2 in option opt2 (an */
    int opt2;         /* object id that the device refers to, for one) */
} vc_field_t;

struct vc_dev;

typedef struct vc_kind {
    const char *name;
    const char *doc;
    const vc_opt_t *opts;
    size_t nopts;
    const vc_field_t *fields;
    size_t nfields;
    /* Optional: rules that span fields (one of two set, a value that only
     * makes sense with another), run by vc_dev_finish after the defaults.
     * Reports through vc_dev_error. */
    int (*check)(const struct vc_dev *d, vc_error_t *err);
} vc_kind_t;

typedef struct vc_value {
    int set;
    long long i; /* INT, BOOL */
    char *s;     /* every other type, and the text form of INT/BOOL */
} vc_value_t;

typedef struct vc_dev {
    const vc_kind_t *kind;
    vc_value_t *v; /* one per field */
} vc_dev_t;

/* Every kind, NULL-terminated, in a stable order. */
const vc_kind_t *const *vc_kinds(void);
const vc_kind_t *vc_kind_find(const char *name);
/* Index of the field called name, or -1. */
int vc_kind_field(const vc_kind_t *k, const char *name);
/* The field name nearest to name (at most 3 edits, fewer than half its
 * length; at the same distance, the one sharing the longest start with
 * name, then the first), or NULL. */
const char *vc_kind_suggest(const vc_kind_t *k, const char *name);
/* The one of names[0..n) nearest to name, by the rule above, or NULL. */
const char *vc_suggest(const char *name, const char *const *names, size_t n);
/* The nearest kind name, or NULL. */
const char *vc_kind_suggest_kind(const char *name);
const char *vc_type_name(vc_type_t t);
/* The type with its article, for messages: "an integer", "a path". */
const char *vc_type_phrase(vc_type_t t);

int vc_dev_new(const vc_kind_t *k, vc_dev_t **out, vc_error_t *err);
void vc_dev_free(vc_dev_t *d);
/* Setters validate against the field; on error nothing changes and err
 * names the kind, the device id when known, and the field. On a VC_F_LIST
 * field vc_dev_set_str adds a value to those set before. A text value
 * for an INT/BOOL/SIZE field is parsed; an integer for a PCI_ADDR field is
 * a slot number, kept in hex. A VC_F_REFUSED field refuses every value. */
int vc_dev_set_str(vc_dev_t *d, int field, const char *s, vc_error_t *err);
int vc_dev_set_int(vc_dev_t *d, int field, long long i, vc_error_t *err);
int vc_dev_set_bool(vc_dev_t *d, int field, int b, vc_error_t *err);
/* Sets err to "<kind> '<id>': field '<field>': <message>" (field may be
 * NULL) and returns VC_ERECIPE: the one shape of device errors. err->device,
 * err->field (the kind's own name for it, or NULL) and err->id say the same
 * as data; every error of the calls above and below that names the device
 * fills them too. */
int vc_dev_error(const vc_dev_t *d, const char *field, vc_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* What QEMU takes but is likely a mistake (a multicast MAC) is not an
 * error: kind checks report it with vc_dev_warn, in the shape of
 * vc_dev_error's message, to the process-wide warning callback. The
 * default callback writes "vclaunch: warning: <message>" and a newline to
 * stderr; vc_kind_set_warn(NULL, NULL) restores it. Set it before devices
 * are built; it is called synchronously from vc_dev_finish. */
typedef void (*vc_warn_cb)(const char *msg, void *ud);
void vc_kind_set_warn(vc_warn_cb cb, void *ud);
void vc_dev_warn(const vc_dev_t *d, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Applies defaults, checks required fields, then the kind's check. */
int vc_dev_finish(vc_dev_t *d, vc_error_t *err);
/* The value of a field by name (text form), or NULL when unset. */
const char *vc_dev_get(const vc_dev_t *d, const char *name);
/* Appends the device's options to argv, in the kind's option order and
 * field order. */
int vc_dev_emit(const vc_dev_t *d, vc_argv_t *argv, vc_error_t *err);
/* Appends copies of the ids the device defines (its set VC_F_DEFINES_ID
 * fields), in field order, to ids: what must differ from every other
 * device's in one QEMU. */
int vc_dev_ids(const vc_dev_t *d, vc_argv_t *ids, vc_error_t *err);

#endif
