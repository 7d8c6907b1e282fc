/* vclaunch core: the QMP commands that hot-plug a device, from the same
 * kind table that writes its command-line options. See hotplug.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotplug.h"

/* From kind.c: what the command line uses too. */
const char *vc__dev_transport_suffix(const vc_dev_t *d);
int vc__dev_field_applies(const vc_dev_t *d, const vc_field_t *fd);

static int oom(vc_error_t *err)
{
    return vc_error_set(err, -ENOMEM, "out of memory");
}

/* "128M" -> bytes */
static long long size_bytes(const char *s)
{
    char *end;
    long long n = strtoll(s, &end, 10);
    switch (toupper((unsigned char)*end)) {
    case 'K':
        return n << 10;
    case 'M':
        return n << 20;
    case 'G':
        return n << 30;
    case 'T':
        return n << 40;
    }
    return n;
}

/* A VC_F_LIST field's values as QAPI's [String]: [{"str": value}, ...]. */
static cJSON *string_list(const char *s)
{
    cJSON *list = cJSON_CreateArray();
    for (const char *item = s; list;) {
        size_t n = strcspn(item, "\n");
        char *one = strndup(item, n);
        cJSON *o = cJSON_CreateObject();
        if (!one || !o || !cJSON_AddStringToObject(o, "str", one) ||
            !cJSON_AddItemToArray(list, o)) {
            cJSON_Delete(o);
            cJSON_Delete(list);
            list = NULL;
        }
        free(one);
        if (!item[n]) break;
        item += n + 1;
    }
    return list;
}

/* The value of field f as typed JSON. */
static cJSON *typed(const vc_dev_t *d, size_t f)
{
    const vc_value_t *v = &d->v[f];
    if (d->kind->fields[f].flags & VC_F_LIST) return string_list(v->s);
    switch (d->kind->fields[f].type) {
    case VC_T_INT:
        return cJSON_CreateNumber((double)v->i);
    case VC_T_BOOL:
        return cJSON_CreateBool(v->i != 0);
    case VC_T_SIZE:
        return cJSON_CreateNumber((double)size_bytes(v->s));
    default:
        return cJSON_CreateString(v->s);
    }
}

/* The head of option o with its transport suffix ("virtio-blk-pci"), into
 * buf; NULL when the option has none. */
static const char *head_of(const vc_dev_t *d, const vc_opt_t *opt, char *buf, size_t size)
{
    if (!opt->head) return NULL;
    const char *t = strstr(opt->head, "%t");
    if (!t) return opt->head;
    const char *suffix = vc__dev_transport_suffix(d);
    snprintf(buf, size, "%.*s%s%s", (int)(t - opt->head), opt->head, suffix ? suffix : "", t + 2);
    return buf;
}

/* The fields of option o as {key: typed value}; *positional gets the value
 * of the field without a key (a chardev's backend), or NULL. */
static cJSON *collect(const vc_dev_t *d, size_t o, const char **positional)
{
    const vc_kind_t *k = d->kind;
    cJSON *kv = cJSON_CreateObject();
    if (!kv) return NULL;
    *positional = NULL;
    for (size_t f = 0; f < k->nfields; f++) {
        const vc_field_t *fd = &k->fields[f];
        const char *key = fd->opt == (int)o                ? fd->key
                          : fd->key2 && fd->opt2 == (int)o ? fd->key2
                                                           : NULL;
        if (!key || !d->v[f].set || !vc__dev_field_applies(d, fd)) continue;
        if (!key[0]) {
            *positional = d->v[f].s;
            continue;
        }
        cJSON *v = typed(d, f);
        if (!v || !cJSON_AddItemToObject(kv, key, v)) {
            cJSON_Delete(v);
            cJSON_Delete(kv);
            return NULL;
        }
    }
    return kv;
}

/* Moves kv[from] to dst[to] (when present). */
static int move(cJSON *kv, const char *from, cJSON *dst, const char *to)
{
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(kv, from);
    if (!v) return 0;
    if (!cJSON_AddItemToObject(dst, to, v)) {
        cJSON_Delete(v);
        return -ENOMEM;
    }
    return 0;
}

/* What is left in kv has no QMP counterpart in this translation. */
static int leftover(const vc_dev_t *d, const char *flag, cJSON *kv, vc_error_t *err)
{
    if (!kv->child) return 0;
    return vc_dev_error(d, NULL, err, "cannot be hot-plugged: %s key '%s' has no QMP equivalent",
                        flag, kv->child->string);
}

/* -drive if=none,id=,file=,format=,readonly=,aio=,discard= -> blockdev-add */
static int drive_args(const vc_dev_t *d, cJSON *kv, cJSON *args, vc_error_t *err)
{
    cJSON *file = cJSON_CreateObject();
    if (!file || !cJSON_AddItemToObject(args, "file", file)) {
        cJSON_Delete(file);
        return oom(err);
    }
    if (!cJSON_AddStringToObject(file, "driver", "file")) return oom(err);
    if (move(kv, "id", args, "node-name") || move(kv, "format", args, "driver") ||
        move(kv, "readonly", args, "read-only") || move(kv, "discard", args, "discard") ||
        move(kv, "file", file, "filename") || move(kv, "aio", file, "aio"))
        return oom(err);
    return leftover(d, "-drive", kv, err);
}

/* -chardev BACKEND,id=,path=,server=,wait= -> chardev-add */
static int chardev_args(const vc_dev_t *d, const char *backend, cJSON *kv, cJSON *args,
                        vc_error_t *err)
{
    if (move(kv, "id", args, "id")) return oom(err);
    cJSON *b = cJSON_AddObjectToObject(args, "backend");
    cJSON *data = b ? cJSON_CreateObject() : NULL;
    if (!data) return oom(err);
    if (!cJSON_AddStringToObject(b, "type", backend) || !cJSON_AddItemToObject(b, "data", data)) {
        cJSON_Delete(data);
        return oom(err);
    }
    if (!strcmp(backend, "socket")) {
        cJSON *path = cJSON_DetachItemFromObjectCaseSensitive(kv, "path");
        if (!path)
            return vc_dev_error(d, NULL, err, "cannot be hot-plugged: a socket chardev needs a path");
        cJSON *addr = cJSON_AddObjectToObject(data, "addr");
        cJSON *adata = addr ? cJSON_AddObjectToObject(addr, "data") : NULL;
        if (!adata || !cJSON_AddStringToObject(addr, "type", "unix") ||
            !cJSON_AddItemToObject(adata, "path", path)) {
            cJSON_Delete(path); /* attaching it is the last step: it never was */
            return oom(err);
        }
        if (move(kv, "server", data, "server") || move(kv, "wait", data, "wait")) return oom(err);
        /* QMP's ChardevSocket defaults to a waiting server; the command
         * line (and so the kind) to a client. */
        if (!cJSON_GetObjectItemCaseSensitive(data, "server") &&
            !cJSON_AddBoolToObject(data, "server", 0))
            return oom(err);
    } else if (!strcmp(backend, "file")) {
        if (move(kv, "path", data, "out")) return oom(err);
    } else if (!strcmp(backend, "pipe")) {
        if (move(kv, "path", data, "device")) return oom(err);
    } else if (strcmp(backend, "null") && strcmp(backend, "pty")) {
        return vc_dev_error(d, NULL, err, "cannot be hot-plugged: a %s chardev", backend);
    }
    return leftover(d, "-chardev", kv, err);
}

static int add_cmd(cJSON *list, const char *command, cJSON *args, vc_error_t *err)
{
    cJSON *c = cJSON_CreateObject();
    if (!c || !cJSON_AddItemToArray(list, c)) {
        cJSON_Delete(c);
        cJSON_Delete(args);
        return oom(err);
    }
    if (!cJSON_AddStringToObject(c, "command", command) ||
        !cJSON_AddItemToObject(c, "arguments", args)) {
        cJSON_Delete(args);
        return oom(err);
    }
    return 0;
}

/* The undo of one plug command: {"command": del, "arguments": {key: id}}. */
static int add_undo(cJSON *list, const char *del, const char *key, const cJSON *id,
                    vc_error_t *err)
{
    cJSON *args = cJSON_CreateObject();
    cJSON *v = cJSON_IsString(id) ? cJSON_CreateString(id->valuestring) : NULL;
    if (!args || !v || !cJSON_AddItemToObject(args, key, v)) {
        cJSON_Delete(v);
        cJSON_Delete(args);
        return oom(err);
    }
    if (add_cmd(list, del, args, err)) return -ENOMEM;
    /* undo runs newest first: move it to the front */
    cJSON *last = cJSON_DetachItemFromArray(list, cJSON_GetArraySize(list) - 1);
    if (!cJSON_InsertItemInArray(list, 0, last)) {
        cJSON_Delete(last);
        return oom(err);
    }
    return 0;
}

int vc_dev_hotplug(const vc_dev_t *d, cJSON **plug, cJSON **unplug, vc_error_t *err)
{
    const vc_kind_t *k = d->kind;
    cJSON *p = cJSON_CreateArray(), *u = cJSON_CreateArray();
    cJSON *kv = NULL;
    int rc = 0;
    if (!p || !u) {
        rc = oom(err);
        goto fail;
    }
    for (size_t o = 0; o < k->nopts && rc == 0; o++) {
        const vc_opt_t *opt = &k->opts[o];
        char buf[128];
        const char *head = head_of(d, opt, buf, sizeof buf);
        const char *positional;
        kv = collect(d, o, &positional);
        cJSON *args = cJSON_CreateObject();
        if (!kv || !args) {
            cJSON_Delete(args);
            rc = oom(err);
            break;
        }
        const char *command = NULL, *del = NULL, *del_key = NULL, *id_key = "id";
        if (!strcmp(opt->flag, "-device")) {
            command = "device_add", del = "device_del", del_key = "id";
            if (!cJSON_AddStringToObject(args, "driver", head)) rc = oom(err);
            while (rc == 0 && kv->child) {
                cJSON *v = cJSON_DetachItemViaPointer(kv, kv->child);
                if (!cJSON_AddItemToObject(args, v->string, v)) {
                    cJSON_Delete(v);
                    rc = oom(err);
                }
            }
            if (rc == 0 && !cJSON_GetObjectItemCaseSensitive(args, "id"))
                rc = vc_dev_error(d, NULL, err, "cannot be hot-plugged without a device id");
        } else if (!strcmp(opt->flag, "-netdev") || !strcmp(opt->flag, "-object")) {
            int net = opt->flag[1] == 'n';
            command = net ? "netdev_add" : "object-add";
            del = net ? "netdev_del" : "object-del", del_key = "id";
            if (!cJSON_AddStringToObject(args, net ? "type" : "qom-type", head)) rc = oom(err);
            while (rc == 0 && kv->child) {
                cJSON *v = cJSON_DetachItemViaPointer(kv, kv->child);
                if (!cJSON_AddItemToObject(args, v->string, v)) {
                    cJSON_Delete(v);
                    rc = oom(err);
                }
            }
        } else if (!strcmp(opt->flag, "-drive")) {
            command = "blockdev-add", del = "blockdev-del", del_key = "node-name";
            id_key = "node-name";
            rc = drive_args(d, kv, args, err);
        } else if (!strcmp(opt->flag, "-chardev")) {
            command = "chardev-add", del = "chardev-remove", del_key = "id";
            rc = chardev_args(d, head ? head : positional, kv, args, err);
        } else if (!strcmp(opt->flag, "-fsdev")) {
            rc = vc_dev_error(d, NULL, err,
                              "cannot be hot-plugged: QEMU has no QMP command to add a -fsdev");
        } else {
            rc = vc_dev_error(d, NULL, err, "cannot be hot-plugged: %s is a start-time option",
                              opt->flag);
        }
        cJSON_Delete(kv);
        kv = NULL;
        if (rc) {
            cJSON_Delete(args);
            break;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(args, id_key);
        if (add_cmd(p, command, args, err) || add_undo(u, del, del_key, id, err)) rc = -ENOMEM;
    }
    if (rc) goto fail;
    *plug = p, *unplug = u;
    return 0;
fail:
    cJSON_Delete(kv);
    cJSON_Delete(p);
    cJSON_Delete(u);
    return rc;
}
