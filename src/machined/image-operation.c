/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-operation.h"
#include "image-ops.h"
#include "image.h"
#include "log.h"
#include "machine.h"
#include "operation.h"
#include "string-table.h"

/* Copying a big tree takes as long as it takes; a hung helper is still ended eventually. */
#define IMAGE_OPERATION_TIMEOUT_USEC (6ULL * 3600 * 1000000ULL)

static const char *const image_operation_kind_table[_IMAGE_OPERATION_KIND_MAX] = {
        [IMAGE_OPERATION_REMOVE] = "remove",
        [IMAGE_OPERATION_RENAME] = "rename",
        [IMAGE_OPERATION_CLONE] = "clone",
        [IMAGE_OPERATION_READ_ONLY] = "read-only",
        [IMAGE_OPERATION_SET_LIMIT] = "set-limit",
        [IMAGE_OPERATION_CLEAN] = "clean",
};
DEFINE_STRING_TABLE_LOOKUP(image_operation_kind, ImageOperationKind);

typedef struct ImageChildArgs {
        const ImageOperationRequest *req;
        const char *pool;
        Image *image;          /* NULL for CLEAN */
} ImageChildArgs;

static int clean_report(int report_fd, const CleanedImage *l, size_t n) {
        int fd = memfd_create("cleaned-images", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fcntl(fd, F_DUPFD_CLOEXEC, 3), "w");
        if (!f) {
                safe_close(fd);
                return -errno;
        }
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s\t%" PRIu64 "\n", l[i].name, l[i].usage);
        int r = fclose(f) == 0 ? 0 : -EIO;
        if (r >= 0 && lseek(fd, 0, SEEK_SET) < 0)
                r = -errno;
        if (r >= 0)
                r = operation_report_result(report_fd, fd, NULL);
        safe_close(fd);
        return r;
}

static void image_child(int report_fd, void *userdata) {
        const ImageChildArgs *a = userdata;
        const ImageOperationRequest *req = a->req;
        CleanedImage *cleaned = NULL;
        size_t n = 0;
        int r;

        switch (req->kind) {
        case IMAGE_OPERATION_REMOVE:
                r = image_remove(a->image);
                break;
        case IMAGE_OPERATION_RENAME:
                r = image_rename(a->image, a->pool, req->new_name);
                break;
        case IMAGE_OPERATION_CLONE:
                r = image_clone(a->image, a->pool, req->new_name, req->flag);
                break;
        case IMAGE_OPERATION_READ_ONLY:
                r = image_mark_read_only(a->image, req->flag);
                break;
        case IMAGE_OPERATION_SET_LIMIT:
                r = image_set_limit(a->image, req->limit);
                break;
        case IMAGE_OPERATION_CLEAN:
                r = pool_clean(a->pool, req->flag, &cleaned, &n);
                if (r >= 0)
                        r = clean_report(report_fd, cleaned, n);
                cleaned_images_free(cleaned, n);
                if (r >= 0)
                        _exit(EXIT_SUCCESS);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                operation_report_failure(report_fd, r, "Failed to %s %s%s%s: %s", image_operation_kind_to_string(req->kind),
                                         a->image ? "image '" : "the pool", a->image ? a->image->name : "",
                                         a->image ? "'" : "",
                                         r == -EBUSY ? "it is in use" : r == -EROFS ? "it is read-only" :
                                         r == -EEXIST ? "an image of that name exists already" : strerror(-r));
        (void) operation_report_result(report_fd, -EBADF, NULL);
        _exit(EXIT_SUCCESS);
}

/* A registered machine running from the image: its root is the image (spawn registers the -D
 * tree or the -i image). Images a machine holds by lock are caught by the child as well. */
static Machine *machine_using(Manager *m, const Image *i) {
        Machine *machine;
        LIST_FOREACH(machines, machine, m->machines)
                if (machine->root_directory && streq(machine->root_directory, i->path))
                        return machine;
        return NULL;
}

int manager_image_operation(Manager *m, const ImageOperationRequest *req, PendingReply *reply, Failure *f) {
        _cleanup_(image_freep) Image *i = NULL;
        int r;

        if (req->kind != IMAGE_OPERATION_CLEAN) {
                if (!image_name_is_valid(req->name))
                        return failure_set(f, -EINVAL, "Image name '%s' is invalid.", req->name);
                r = image_find(m->config.pool_path, req->name, &i);
                if (r == -ENOENT)
                        return failure_set(f, r, "No image '%s' known.", req->name);
                if (r < 0)
                        return failure_set(f, r, "Failed to look up image '%s': %m", req->name);
                if ((req->kind == IMAGE_OPERATION_RENAME || req->kind == IMAGE_OPERATION_CLONE) &&
                    !image_name_is_valid(req->new_name))
                        return failure_set(f, -EINVAL, "New image name '%s' is invalid.", req->new_name);
                Machine *user = req->kind == IMAGE_OPERATION_CLONE ? NULL : machine_using(m, i);
                if (user)
                        return failure_set(f, -EBUSY, "Image '%s' is in use by machine '%s'.", i->name, user->name);
        }

        ImageChildArgs args = { .req = req, .pool = m->config.pool_path, .image = i };
        Operation *o;
        r = operation_start(m, NULL, image_operation_kind_to_string(req->kind), image_child, &args, reply, f, &o);
        if (r < 0)
                return r;
        (void) operation_set_timeout(o, IMAGE_OPERATION_TIMEOUT_USEC);
        return 0;
}

int manager_set_pool_limit(Manager *m, uint64_t limit, Failure *f) {
        return failure_set(f, pool_set_limit(m->config.pool_path, limit), "The pool %s has no quota support.",
                           m->config.pool_path);
}
