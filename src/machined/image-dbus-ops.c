/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool methods on D-Bus: org.freedesktop.machine1.Manager's RemoveImage, RenameImage,
 * CloneImage, MarkImageReadOnly, SetImageLimit, SetPoolLimit, CleanPool and the Image object's
 * Remove, Rename, Clone, MarkReadOnly, SetLimit. Each unmarshals, authorizes, hands the request
 * to the model (image-operation.c) and answers when the operation's child reports. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus-util.h"
#include "fd-util.h"
#include "image-dbus.h"
#include "image-operation.h"
#include "image.h"
#include "log.h"
#include "manager-dbus.h"
#include "operation.h"

static void op_complete(void *call, const Failure *f, const void *result) {
        sd_bus_message *message = call;
        int r = f ? bus_reply_failure(message, ERROR_CONTEXT_IMAGE_OPERATION, f) : sd_bus_reply_method_return(message, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to an image operation: %m");
}

/* CleanPool's answer: the child's "NAME\tUSAGE" lines as a(st). */
static int reply_cleaned(sd_bus_message *message, int fd) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *text = NULL;
        int r = read_full_fd(fd, 4 * 1024 * 1024, &text, NULL);
        if (r >= 0)
                r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(st)");
        for (char *line = text, *next; r >= 0 && line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char *tab = strchr(line, '\t');
                uint64_t usage = UINT64_MAX;
                if (tab) {
                        *tab = '\0';
                        usage = strtoull(tab + 1, NULL, 10);
                }
                r = sd_bus_message_append(reply, "(st)", line, usage);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r;
}

static void clean_complete(void *call, const Failure *f, const void *result) {
        sd_bus_message *message = call;
        const OperationResult *o = result;
        int r = f ? bus_reply_failure(message, ERROR_CONTEXT_IMAGE_OPERATION, f) : reply_cleaned(message, o->fd);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to CleanPool: %m");
}

static int image_call(sd_bus_message *message, Manager *m, const ImageOperationRequest *req, sd_bus_error *error) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        PendingReply reply = bus_pending_reply(message, req->kind == IMAGE_OPERATION_CLEAN ? clean_complete : op_complete);
        r = manager_image_operation(m, req, &reply, &f);
        if (r < 0) {
                pending_reply_done(&reply);
                return bus_set_failure(error, ERROR_CONTEXT_IMAGE_OPERATION, r, &f);
        }
        return 1;
}

int bus_method_remove_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_REMOVE };
        int r = sd_bus_message_read(message, "s", &req.name);
        return r < 0 ? r : image_call(message, userdata, &req, error);
}

int bus_method_rename_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_RENAME };
        int r = sd_bus_message_read(message, "ss", &req.name, &req.new_name);
        return r < 0 ? r : image_call(message, userdata, &req, error);
}

int bus_method_clone_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_CLONE };
        int b;
        int r = sd_bus_message_read(message, "ssb", &req.name, &req.new_name, &b);
        req.flag = b;
        return r < 0 ? r : image_call(message, userdata, &req, error);
}

int bus_method_mark_image_read_only(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_READ_ONLY };
        int b;
        int r = sd_bus_message_read(message, "sb", &req.name, &b);
        req.flag = b;
        return r < 0 ? r : image_call(message, userdata, &req, error);
}

int bus_method_set_image_limit(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_SET_LIMIT };
        int r = sd_bus_message_read(message, "st", &req.name, &req.limit);
        return r < 0 ? r : image_call(message, userdata, &req, error);
}

int bus_method_clean_pool(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_CLEAN };
        const char *mode;
        int r = sd_bus_message_read(message, "s", &mode);
        if (r < 0)
                return r;
        if (!streq(mode, "all") && !streq(mode, "hidden"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown mode '%s' (want all or hidden).", mode);
        req.flag = streq(mode, "all");
        return image_call(message, userdata, &req, error);
}

int bus_method_set_pool_limit(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        uint64_t limit;
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "t", &limit);
        if (r < 0)
                return r;
        r = manager_set_pool_limit(userdata, limit, &f);
        if (r < 0)
                return bus_set_failure(error, ERROR_CONTEXT_IMAGE_OPERATION, r, &f);
        return sd_bus_reply_method_return(message, NULL);
}

/* ---- the same on the Image object, whose userdata is the looked-up Image ---------------------- */

int bus_image_method_remove(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_REMOVE, .name = i->name };
        return image_call(message, m, &req, error);
}

int bus_image_method_rename(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_RENAME, .name = i->name };
        int r = sd_bus_message_read(message, "s", &req.new_name);
        return r < 0 ? r : image_call(message, m, &req, error);
}

int bus_image_method_clone(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_CLONE, .name = i->name };
        int b;
        int r = sd_bus_message_read(message, "sb", &req.new_name, &b);
        req.flag = b;
        return r < 0 ? r : image_call(message, m, &req, error);
}

int bus_image_method_mark_read_only(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_READ_ONLY, .name = i->name };
        int b;
        int r = sd_bus_message_read(message, "b", &b);
        req.flag = b;
        return r < 0 ? r : image_call(message, m, &req, error);
}

int bus_image_method_set_limit(sd_bus_message *message, Manager *m, const Image *i, sd_bus_error *error) {
        ImageOperationRequest req = { .kind = IMAGE_OPERATION_SET_LIMIT, .name = i->name };
        int r = sd_bus_message_read(message, "t", &req.limit);
        return r < 0 ? r : image_call(message, m, &req, error);
}
