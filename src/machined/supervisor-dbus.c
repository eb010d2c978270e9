/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.berth.Machined1 on /org/freedesktop/machine1: what "machinectl start/stop/enable/disable"
 * call. systemd-machined has no such methods (systemd's machinectl talks to PID 1 about
 * systemd-nspawn@ units instead), hence an interface of our own next to the public one. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bus-util.h"
#include "log.h"
#include "manager-dbus.h"
#include "macro.h"
#include "name-util.h"
#include "strv.h"
#include "supervisor.h"

#define MACHINED1_INTERFACE "io.berth.Machined1"

typedef enum ImageAction {
        IMAGE_START,
        IMAGE_STOP,
        IMAGE_ENABLE,
        IMAGE_DISABLE,
} ImageAction;

/* An image to boot is a directory POOL/NAME (spawn -D) or a disk image POOL/NAME.raw (spawn -i);
 * the name was validated, so it is a single path component. */
static int image_check(Manager *m, const char *name, sd_bus_error *error) {
        _cleanup_free_ char *path = strjoin(m->config.pool_path, "/", name), *raw = strjoin(m->config.pool_path, "/", name, ".raw");
        struct stat st;

        if (!path || !raw)
                return -ENOMEM;
        if (stat(path, &st) >= 0 && S_ISDIR(st.st_mode))
                return 0;
        if (stat(raw, &st) >= 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
                return 0;
        return bus_set_errorf(error, ERROR_CONTEXT_IMAGE, -ENOENT, "No image '%s' (a directory %s or a disk image %s) known.",
                              name, path, raw);
}

static void image_call_complete(void *call, const Failure *f, const void *result) {
        sd_bus_message *message = call;
        int r;

        if (f)
                r = bus_reply_failure(message, ERROR_CONTEXT_SUPERVISOR, f);
        else
                r = sd_bus_reply_method_return(message, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to answer %s call: %m", strna(sd_bus_message_get_member(message)));
}

static int image_method(sd_bus_message *message, Manager *m, ImageAction action, sd_bus_error *error) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        const char *name;
        int r;

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (!machine_name_is_valid(name))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid machine name.");
        if (action == IMAGE_START || action == IMAGE_ENABLE) {
                r = image_check(m, name, error);
                if (r < 0)
                        return r;
        }
        if (!m->supervisor)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "machined is still starting up.");

        PendingReply reply = bus_pending_reply(message, image_call_complete);
        bool units = supervisor_uses_units(m);
        switch (action) {
        case IMAGE_START:
                r = units ? unit_start_image(m->supervisor, name, &reply, &f)
                          : supervisor_start_image(m->supervisor, name, &reply, &f);
                break;
        case IMAGE_STOP:
                r = units ? unit_stop_image(m->supervisor, name, &reply, &f)
                          : supervisor_stop_image(m->supervisor, name, &reply, &f);
                break;
        default:
                if (units)
                        r = unit_enable_image(m->supervisor, name, action == IMAGE_ENABLE, &reply, &f);
                else {
                        r = supervisor_enable_image(m->supervisor, name, action == IMAGE_ENABLE, &f);
                        if (r >= 0)
                                pending_reply_complete(&reply, NULL, NULL);
                }
        }
        pending_reply_done(&reply);
        if (r < 0)
                return bus_set_failure(error, ERROR_CONTEXT_SUPERVISOR, r, &f);
        return 1;
}

static int method_start_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return image_method(message, userdata, IMAGE_START, error);
}
static int method_stop_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return image_method(message, userdata, IMAGE_STOP, error);
}
static int method_enable_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return image_method(message, userdata, IMAGE_ENABLE, error);
}
static int method_disable_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return image_method(message, userdata, IMAGE_DISABLE, error);
}

/* Replies come later: StartImage once the machine registered, StopImage once spawn exited. */
static const sd_bus_vtable machined1_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("StartImage", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_start_image,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StopImage", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_stop_image,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("EnableImage", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_enable_image,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DisableImage", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_disable_image,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int supervisor_dbus_register(Manager *m) {
        int r = sd_bus_add_object_vtable(m->bus, NULL, "/org/freedesktop/machine1", MACHINED1_INTERFACE,
                                         machined1_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add %s object vtable: %m", MACHINED1_INTERFACE);
        return 0;
}
