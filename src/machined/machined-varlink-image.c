/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.systemd.MachineImage: the pool over Varlink, the same model as the D-Bus methods
 * (image-operation.c), with errors through the same table. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fd-util.h"
#include "image-operation.h"
#include "image.h"
#include "log.h"
#include "machined-varlink.h"
#include "operation.h"
#include "path-util.h"
#include "strv.h"

static const char image_interface_description[] =
        "interface io.systemd.MachineImage\n\n"
        "type AcquireMetadata(no, yes, graceful)\n\n"
        "type CleanPoolMode(all, hidden)\n\n"
        "# List images\n"
        "method List(\n\tname: ?string,\n\tacquireMetadata: ?AcquireMetadata\n) -> (\n\tname: string,\n"
        "\tpath: string,\n\ttype: string,\n\tclass: string,\n\treadOnly: bool,\n\tcreationTimestamp: ?int,\n"
        "\tmodificationTimestamp: ?int,\n\tusage: ?int,\n\tusageExclusive: ?int,\n\tlimit: ?int,\n"
        "\tlimitExclusive: ?int,\n\thostname: ?string,\n\tmachineId: ?string,\n\tmachineInfo: ?[]string,\n"
        "\tOSRelease: ?[]string\n)\n\n"
        "# Rename an image, mark it read-only or writable, set its limit\n"
        "method Update(\n\tname: string,\n\tnewName: ?string,\n\treadOnly: ?bool,\n\tlimit: ?int,\n"
        "\tallowInteractiveAuthentication: ?bool\n) -> ()\n\n"
        "method Clone(\n\tname: string,\n\tnewName: string,\n\treadOnly: ?bool,\n"
        "\tallowInteractiveAuthentication: ?bool\n) -> ()\n\n"
        "method Remove(\n\tname: string,\n\tallowInteractiveAuthentication: ?bool\n) -> ()\n\n"
        "method SetPoolLimit(\n\tlimit: int,\n\tallowInteractiveAuthentication: ?bool\n) -> ()\n\n"
        "method CleanPool(\n\tmode: CleanPoolMode,\n\tallowInteractiveAuthentication: ?bool\n) -> (\n"
        "\tname: string,\n\tusage: int\n)\n\n"
        "error NoSuchImage()\n"
        "error TooManyOperations()\n"
        "error NotSupported()\n";

static bool caller_is_root(VarlinkCall *call) {
        uid_t uid;
        return varlink_call_get_peer(call, &uid, NULL) >= 0 && uid == 0;
}

/* A string/bool/int parameter: 1 present, 0 absent or null, < 0 of the wrong type (answered). */
static int param(VarlinkCall *call, struct json_object *p, const char *name, json_type type, struct json_object **ret) {
        struct json_object *v = NULL;
        *ret = NULL;
        if (!json_object_object_get_ex(p, name, &v) || !v || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, type)) {
                (void) varlink_call_error_invalid_parameter(call, name);
                return -EINVAL;
        }
        *ret = v;
        return 1;
}

static void add_env(struct json_object *o, const char *key, char **env) {
        struct json_object *a = json_object_new_array();
        for (char **e = env; a && e && *e; e++)
                json_object_array_add(a, json_object_new_string(*e));
        json_object_object_add(o, key, a);
}

static void add_metadata(struct json_object *o, const Image *i) {
        _cleanup_free_ char *hostname = NULL;
        _cleanup_strv_free_ char **info = NULL, **os = NULL;
        Id128 id;
        char buf[33];
        if (image_read_hostname(i, &hostname) >= 0 && !isempty(hostname))
                json_object_object_add(o, "hostname", json_object_new_string(hostname));
        if (image_read_machine_id(i, &id) >= 0 && !id128_is_null(&id)) {
                for (size_t k = 0; k < 16; k++)
                        snprintf(buf + 2 * k, 3, "%02x", id.bytes[k]);
                json_object_object_add(o, "machineId", json_object_new_string(buf));
        }
        if (image_read_machine_info(i, &info) >= 0)
                add_env(o, "machineInfo", info);
        if (image_read_os_release(i, &os) >= 0)
                add_env(o, "OSRelease", os);
}

static struct json_object *image_json(const Image *i, bool metadata) {
        struct json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "name", json_object_new_string(i->name));
        json_object_object_add(o, "path", json_object_new_string(i->path));
        json_object_object_add(o, "type", json_object_new_string(image_type_to_string(i->type)));
        json_object_object_add(o, "class", json_object_new_string("machine"));
        json_object_object_add(o, "readOnly", json_object_new_boolean(i->read_only));
        if (i->crtime)
                json_object_object_add(o, "creationTimestamp", json_object_new_uint64(i->crtime));
        json_object_object_add(o, "modificationTimestamp", json_object_new_uint64(i->mtime));
        if (i->usage != UINT64_MAX)
                json_object_object_add(o, "usage", json_object_new_uint64(i->usage));
        if (i->usage_exclusive != UINT64_MAX)
                json_object_object_add(o, "usageExclusive", json_object_new_uint64(i->usage_exclusive));
        if (metadata)
                add_metadata(o, i);
        return o;
}

static int vl_list(VarlinkCall *call, struct json_object *p, void *userdata) {
        Manager *m = userdata;
        struct json_object *name, *meta;
        if (param(call, p, "name", json_type_string, &name) < 0 || param(call, p, "acquireMetadata", json_type_string, &meta) < 0)
                return 0;
        bool metadata = meta && !streq(json_object_get_string(meta), "no");
        if (name) {
                _cleanup_(image_freep) Image *i = NULL;
                const char *n = json_object_get_string(name);
                int r = image_name_is_valid(n) ? image_find(m->config.pool_path, n, &i) : -EINVAL;
                if (r < 0)
                        return varlink_reply_failure(call, ERROR_CONTEXT_IMAGE, r, NULL);
                return varlink_call_reply(call, image_json(i, metadata));
        }
        Image **l = NULL;
        size_t n = 0;
        int r = image_discover(m->config.pool_path, &l, &n);
        if (r < 0)
                return r;
        if (!varlink_call_wants_more(call) && n > 1) {
                images_free(l, n);
                return varlink_call_error(call, VARLINK_ERROR_EXPECTED_MORE, NULL);
        }
        for (size_t k = 0; r >= 0 && k < n; k++) {
                struct json_object *o = image_json(l[k], metadata);
                r = !o ? -ENOMEM : k + 1 < n ? varlink_call_notify(call, o) : varlink_call_reply(call, o);
        }
        images_free(l, n);
        return r;
}

/* ---- the operations ---------------------------------------------------------------------------- */

/* Update may ask for several changes: they run one after the other, each an operation. */
typedef struct UpdateCall {
        VarlinkCall *call;
        Manager *manager;
        ImageOperationRequest steps[3];
        size_t n_steps, next;
        char *name, *new_name;
} UpdateCall;

static void update_call_free(UpdateCall *u) {
        varlink_call_unref(u->call);
        free(u->name);
        free(u->new_name);
        free(u);
}

static void update_release(void *call) {
        /* The UpdateCall outlives each step's reply; it is freed when the last one answered. */
}

static int update_next(UpdateCall *u);

static void update_complete(void *call, const Failure *f, const void *result) {
        UpdateCall *u = call;
        if (f) {
                (void) varlink_reply_failure(u->call, ERROR_CONTEXT_IMAGE_OPERATION, f->error, f);
                update_call_free(u);
                return;
        }
        if (update_next(u) == 0) {
                (void) varlink_call_reply(u->call, NULL);
                update_call_free(u);
        }
}

/* Starts the next step: 1 when one runs, 0 when all are done, < 0 when one could not start
 * (answered, u freed). */
static int update_next(UpdateCall *u) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        if (u->next >= u->n_steps)
                return 0;
        ImageOperationRequest *req = &u->steps[u->next++];
        PendingReply reply = { .complete = update_complete, .release = update_release, .call = u };
        int r = manager_image_operation(u->manager, req, &reply, &f);
        if (r < 0) {
                (void) varlink_reply_failure(u->call, ERROR_CONTEXT_IMAGE_OPERATION, r, &f);
                update_call_free(u);
                return r;
        }
        /* A rename moves the image: the later steps act on the new name. */
        if (req->kind == IMAGE_OPERATION_RENAME)
                for (size_t k = u->next; k < u->n_steps; k++)
                        u->steps[k].name = u->new_name;
        return 1;
}

static int vl_update(VarlinkCall *call, struct json_object *p, void *userdata) {
        struct json_object *name, *new_name, *ro, *limit;
        if (!caller_is_root(call))
                return varlink_call_error(call, VARLINK_ERROR_PERMISSION_DENIED, NULL);
        if (param(call, p, "name", json_type_string, &name) < 0 || param(call, p, "newName", json_type_string, &new_name) < 0 ||
            param(call, p, "readOnly", json_type_boolean, &ro) < 0 || param(call, p, "limit", json_type_int, &limit) < 0)
                return 0;
        if (!name)
                return varlink_call_error_invalid_parameter(call, "name");
        UpdateCall *u = calloc(1, sizeof(UpdateCall));
        if (!u)
                return -ENOMEM;
        *u = (UpdateCall) { .call = varlink_call_ref(call), .manager = userdata, .name = strdup(json_object_get_string(name)),
                            .new_name = new_name ? strdup(json_object_get_string(new_name)) : NULL };
        if (!u->name || (new_name && !u->new_name)) {
                update_call_free(u);
                return -ENOMEM;
        }
        if (new_name)
                u->steps[u->n_steps++] = (ImageOperationRequest) { .kind = IMAGE_OPERATION_RENAME, .name = u->name,
                                                                   .new_name = u->new_name };
        if (ro)
                u->steps[u->n_steps++] = (ImageOperationRequest) { .kind = IMAGE_OPERATION_READ_ONLY, .name = u->name,
                                                                   .flag = json_object_get_boolean(ro) };
        if (limit)
                u->steps[u->n_steps++] = (ImageOperationRequest) { .kind = IMAGE_OPERATION_SET_LIMIT, .name = u->name,
                                                                   .limit = (uint64_t) json_object_get_int64(limit) };
        int r = update_next(u);
        if (r == 0) {
                (void) varlink_call_reply(call, NULL);
                update_call_free(u);
        }
        return 0;
}

static void op_complete(void *call, const Failure *f, const void *result) {
        if (f)
                (void) varlink_reply_failure(call, ERROR_CONTEXT_IMAGE_OPERATION, f->error, f);
        else
                (void) varlink_call_reply(call, NULL);
}

static void clean_complete(void *call, const Failure *f, const void *result) {
        const OperationResult *o = result;
        _cleanup_free_ char *text = NULL;
        if (f || read_full_fd(o->fd, 4 * 1024 * 1024, &text, NULL) < 0) {
                (void) varlink_reply_failure(call, ERROR_CONTEXT_IMAGE_OPERATION, f ? f->error : -EIO, f);
                return;
        }
        /* One reply per removed image, all but the last as "continues"; none: an empty reply. */
        struct json_object *pending = NULL;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char *tab = strchr(line, '\t');
                if (tab)
                        *tab++ = '\0';
                if (pending)
                        (void) varlink_call_notify(call, pending);
                pending = json_object_new_object();
                json_object_object_add(pending, "name", json_object_new_string(line));
                json_object_object_add(pending, "usage", json_object_new_uint64(tab ? strtoull(tab, NULL, 10) : UINT64_MAX));
        }
        (void) varlink_call_reply(call, pending);
}

static void release_call(void *call) {
        varlink_call_unref(call);
}

static int start_operation(VarlinkCall *call, Manager *m, const ImageOperationRequest *req) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        PendingReply reply = { .complete = req->kind == IMAGE_OPERATION_CLEAN ? clean_complete : op_complete,
                               .release = release_call, .call = varlink_call_ref(call) };
        int r = manager_image_operation(m, req, &reply, &f);
        if (r < 0) {
                pending_reply_done(&reply);
                return varlink_reply_failure(call, ERROR_CONTEXT_IMAGE_OPERATION, r, &f);
        }
        return 0;
}

static int vl_clone(VarlinkCall *call, struct json_object *p, void *userdata) {
        struct json_object *name, *new_name, *ro;
        if (!caller_is_root(call))
                return varlink_call_error(call, VARLINK_ERROR_PERMISSION_DENIED, NULL);
        if (param(call, p, "name", json_type_string, &name) < 0 || param(call, p, "newName", json_type_string, &new_name) < 0 ||
            param(call, p, "readOnly", json_type_boolean, &ro) < 0)
                return 0;
        if (!name || !new_name)
                return varlink_call_error_invalid_parameter(call, name ? "newName" : "name");
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_CLONE, .name = json_object_get_string(name),
                                      .new_name = json_object_get_string(new_name), .flag = ro && json_object_get_boolean(ro) };
        return start_operation(call, userdata, &req);
}

static int vl_remove(VarlinkCall *call, struct json_object *p, void *userdata) {
        struct json_object *name;
        if (!caller_is_root(call))
                return varlink_call_error(call, VARLINK_ERROR_PERMISSION_DENIED, NULL);
        if (param(call, p, "name", json_type_string, &name) < 0)
                return 0;
        if (!name)
                return varlink_call_error_invalid_parameter(call, "name");
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_REMOVE, .name = json_object_get_string(name) };
        return start_operation(call, userdata, &req);
}

static int vl_set_pool_limit(VarlinkCall *call, struct json_object *p, void *userdata) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        struct json_object *limit;
        if (!caller_is_root(call))
                return varlink_call_error(call, VARLINK_ERROR_PERMISSION_DENIED, NULL);
        if (param(call, p, "limit", json_type_int, &limit) < 0)
                return 0;
        if (!limit)
                return varlink_call_error_invalid_parameter(call, "limit");
        int r = manager_set_pool_limit(userdata, (uint64_t) json_object_get_int64(limit), &f);
        return r < 0 ? varlink_reply_failure(call, ERROR_CONTEXT_IMAGE_OPERATION, r, &f) : varlink_call_reply(call, NULL);
}

static int vl_clean_pool(VarlinkCall *call, struct json_object *p, void *userdata) {
        struct json_object *mode;
        if (!caller_is_root(call))
                return varlink_call_error(call, VARLINK_ERROR_PERMISSION_DENIED, NULL);
        if (param(call, p, "mode", json_type_string, &mode) < 0)
                return 0;
        const char *s = mode ? json_object_get_string(mode) : NULL;
        if (!s || (!streq(s, "all") && !streq(s, "hidden")))
                return varlink_call_error_invalid_parameter(call, "mode");
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_CLEAN, .flag = streq(s, "all") };
        return start_operation(call, userdata, &req);
}

static const VarlinkMethod image_methods[] = {
        { "List", vl_list },
        { "Update", vl_update },
        { "Clone", vl_clone },
        { "Remove", vl_remove },
        { "SetPoolLimit", vl_set_pool_limit },
        { "CleanPool", vl_clean_pool },
        { NULL, NULL },
};

static const VarlinkInterface image_interface = {
        .name = "io.systemd.MachineImage",
        .description = image_interface_description,
        .methods = image_methods,
};

int machined_varlink_image_init(Manager *m) {
        static const VarlinkServerInfo info = {
                .vendor = "berth",
                .product = "machined",
                .version = BERTH_VERSION,
                .url = PROJECT_URL,
        };
        _cleanup_free_ char *path = strjoin(m->config.runtime_dir, "/io.systemd.MachineImage");
        if (!path)
                return log_oom();
        /* List is open to all; the rest checks the peer's UID. */
        int r = varlink_server_new(m->event, path, 0666, &info, &m->varlink_image);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on %s: %m", path);
        r = varlink_server_add_interface(m->varlink_image, &image_interface, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add Varlink interface: %m");
        return 0;
}
