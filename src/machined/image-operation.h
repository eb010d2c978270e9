/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "machine-error.h"
#include "manager.h"
#include "pending-reply.h"

/* The pool methods as generic operations: the checks that are cheap run in machined, the work
 * (image-ops.c) in an operation's child, so that copying or deleting a tree never blocks the
 * daemon. The reply gets an OperationResult; for IMAGE_OPERATION_CLEAN its fd is a memfd with one
 * "NAME\tUSAGE\n" line per removed image. */
typedef enum ImageOperationKind {
        IMAGE_OPERATION_REMOVE,
        IMAGE_OPERATION_RENAME,
        IMAGE_OPERATION_CLONE,
        IMAGE_OPERATION_READ_ONLY,
        IMAGE_OPERATION_SET_LIMIT,
        IMAGE_OPERATION_CLEAN,
        _IMAGE_OPERATION_KIND_MAX,
        _IMAGE_OPERATION_KIND_INVALID = -EINVAL,
} ImageOperationKind;

const char *image_operation_kind_to_string(ImageOperationKind k);
ImageOperationKind image_operation_kind_from_string(const char *s);

typedef struct ImageOperationRequest {
        ImageOperationKind kind;
        const char *name;      /* the image; CLEAN: NULL */
        const char *new_name;  /* RENAME, CLONE */
        bool flag;             /* CLONE: read-only copy; READ_ONLY: the new state; CLEAN: all images */
        uint64_t limit;        /* SET_LIMIT */
} ImageOperationRequest;

/* -ENOENT no such image, -EINVAL a bad name, -EBUSY a registered machine runs from it, or the
 * limits of operations; the rest comes from the child (see image-ops.h). */
int manager_image_operation(Manager *m, const ImageOperationRequest *req, PendingReply *reply, Failure *f);
/* SetPoolLimit: there are no pool quotas (-EOPNOTSUPP). */
int manager_set_pool_limit(Manager *m, uint64_t limit, Failure *f);
