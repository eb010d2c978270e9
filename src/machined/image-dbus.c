/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#if HAVE_BLKID
#include "dissect-image.h"
#endif
#include "image-dbus.h"
#include "image.h"
#include "log.h"
#include "macro.h"
#include "name-util.h"
#include "strv.h"

#define IMAGE_PREFIX "/org/freedesktop/machine1/image"

/* Images are looked up afresh for every call (the pool is a plain directory anybody may change),
 * so the object handed to the vtable is a per-call copy, freed when the bus is done with it. */
static Image *current_image;
/* The Image object's methods act through the manager (its pool, its operations). */
static Manager *image_manager;

static void current_image_reset(void) {
        current_image = image_free(current_image);
}

static int image_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                             sd_bus_error *error) {
        Manager *m = userdata;
        const char *label = startswith(path, IMAGE_PREFIX "/");
        Image *i = NULL;

        if (!label || strchr(label, '/'))
                return 0;
        _cleanup_free_ char *name = bus_label_unescape(label);
        if (!name || !image_name_is_valid(name))
                return 0;
        int r = image_find(m->config.pool_path, name, &i);
        if (r == -ENOENT || r == -EINVAL)
                return 0;
        if (r < 0)
                return r;
        current_image_reset();
        current_image = i;
        *found = i;
        return 1;
}

static int image_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **l = NULL;
        Image **images = NULL;
        size_t n = 0;

        int r = image_discover(m->config.pool_path, &images, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char *p = image_bus_path(images[i]->name);
                if (!p || strv_consume(&l, p) < 0) {
                        images_free(images, n);
                        return -ENOMEM;
                }
        }
        images_free(images, n);
        *nodes = TAKE_PTR(l);
        return 1;
}

static int property_get_type(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *i = userdata;
        return sd_bus_message_append(reply, "s", image_type_to_string(i->type));
}

static int property_get_read_only(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *i = userdata;
        return sd_bus_message_append(reply, "b", (int) i->read_only);
}

/* A read of an image's /etc failed: NotSupported where machined cannot look inside (built without
 * libblkid), Failed naming the cause for a disk image that cannot be dissected or mounted. */
static int image_read_error(sd_bus_error *error, const Image *i, int r, const char *what) {
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Not supported for this image.");
#if HAVE_BLKID
        const char *cause = dissect_error_cause(r);
        if (cause)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Failed to read %s of image '%s': %s.", what, i->name, cause);
#endif
        errno = -r;
        return sd_bus_error_set_errnof(error, r, "Failed to read %s of image '%s': %m", what, i->name);
}

static int method_get_hostname(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *h = NULL;
        int r = image_read_hostname(userdata, &h);
        if (r < 0)
                return image_read_error(error, userdata, r, "the hostname");
        return sd_bus_reply_method_return(message, "s", h);
}

static int method_get_machine_id(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        Id128 id;
        int r = image_read_machine_id(userdata, &id);
        if (r < 0)
                return image_read_error(error, userdata, r, "the machine ID");
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = id128_is_null(&id) ? sd_bus_message_append_array(reply, 'y', NULL, 0) : bus_message_append_id128(reply, &id);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int reply_env(sd_bus_message *message, char **env) {
        sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = bus_message_append_env_as_dict(reply, env);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int method_get_machine_info(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        int r = image_read_machine_info(userdata, &l);
        if (r < 0)
                return image_read_error(error, userdata, r, "the machine info");
        return reply_env(message, l);
}

static int method_get_os_release(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        int r = image_read_os_release(userdata, &l);
        if (r == -ENOENT)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "Image does not contain OS release information.");
        if (r < 0)
                return image_read_error(error, userdata, r, "the OS release data");
        return reply_env(message, l);
}

#define IMAGE_OP(name, fn)                                                                              \
        static int name(sd_bus_message *message, void *userdata, sd_bus_error *error) {                \
                return fn(message, image_manager, userdata, error);                                     \
        }
IMAGE_OP(method_remove, bus_image_method_remove)
IMAGE_OP(method_rename, bus_image_method_rename)
IMAGE_OP(method_clone, bus_image_method_clone)
IMAGE_OP(method_mark_read_only, bus_image_method_mark_read_only)
IMAGE_OP(method_set_limit, bus_image_method_set_limit)

#define U SD_BUS_VTABLE_UNPRIVILEGED

static const sd_bus_vtable image_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", bus_property_get_string, offsetof(Image, name), 0),
        SD_BUS_PROPERTY("Path", "s", bus_property_get_string, offsetof(Image, path), 0),
        SD_BUS_PROPERTY("Type", "s", property_get_type, 0, 0),
        SD_BUS_PROPERTY("ReadOnly", "b", property_get_read_only, 0, 0),
        SD_BUS_PROPERTY("CreationTimestamp", "t", NULL, offsetof(Image, crtime), 0),
        SD_BUS_PROPERTY("ModificationTimestamp", "t", NULL, offsetof(Image, mtime), 0),
        SD_BUS_PROPERTY("Usage", "t", NULL, offsetof(Image, usage), 0),
        SD_BUS_PROPERTY("Limit", "t", NULL, offsetof(Image, limit), 0),
        SD_BUS_PROPERTY("UsageExclusive", "t", NULL, offsetof(Image, usage_exclusive), 0),
        SD_BUS_PROPERTY("LimitExclusive", "t", NULL, offsetof(Image, limit_exclusive), 0),
        SD_BUS_METHOD_WITH_ARGS("GetHostname", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", hostname), method_get_hostname, U),
        SD_BUS_METHOD_WITH_ARGS("GetMachineID", SD_BUS_NO_ARGS, SD_BUS_RESULT("ay", id), method_get_machine_id, U),
        SD_BUS_METHOD_WITH_ARGS("GetMachineInfo", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{ss}", machine_info), method_get_machine_info, U),
        SD_BUS_METHOD_WITH_ARGS("GetOSRelease", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{ss}", os_release), method_get_os_release, U),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_remove, U),
        SD_BUS_METHOD_WITH_ARGS("Rename", SD_BUS_ARGS("s", new_name), SD_BUS_NO_RESULT, method_rename, U),
        SD_BUS_METHOD_WITH_ARGS("Clone", SD_BUS_ARGS("s", new_name, "b", read_only), SD_BUS_NO_RESULT, method_clone, U),
        SD_BUS_METHOD_WITH_ARGS("MarkReadOnly", SD_BUS_ARGS("b", read_only), SD_BUS_NO_RESULT, method_mark_read_only, U),
        SD_BUS_METHOD_WITH_ARGS("SetLimit", SD_BUS_ARGS("t", limit), SD_BUS_NO_RESULT, method_set_limit, U),
        SD_BUS_VTABLE_END,
};

int image_dbus_register(Manager *m) {
        image_manager = m;
        int r = sd_bus_add_fallback_vtable(m->bus, NULL, IMAGE_PREFIX, "org.freedesktop.machine1.Image", image_vtable,
                                           image_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add image object vtable: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, IMAGE_PREFIX, image_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add image enumerator: %m");
        return 0;
}
