/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "machine-error.h"
#include "machine.h"
#include "pending-reply.h"

/* CopyFromMachine / CopyToMachine: an operation (operation.h) whose helper opens the machine's
 * root through /proc/LEADER/root and resolves every path inside it as untrusted (openat2 with
 * RESOLVE_IN_ROOT for the given path, then one name at a time with O_NOFOLLOW while walking a
 * tree), so neither ".." nor a symlink in the guest leads out of its root. Directories, regular
 * files and symlinks are copied with mode, owner and timestamps; other file types are skipped.
 * The operation is cancelled (the helper killed) when the machine goes away; on failure the
 * helper removes what it created. */

#define MACHINE_COPY_REPLACE (UINT64_C(1) << 0)

typedef struct CopyRequest {
        bool to_machine;    /* CopyTo: host src → machine dest; CopyFrom: machine src → host dest */
        const char *src;    /* absolute */
        const char *dest;   /* absolute */
        bool replace;       /* MACHINE_COPY_REPLACE: an existing dest is removed first */
} CopyRequest;

/* Starts the copy; reply is answered with an empty OperationResult. -EINVAL for a relative path,
 * -EOPNOTSUPP for VMs, -ESRCH if the machine is going away, -EBUSY beyond the operation limits. */
int machine_copy(Machine *m, const CopyRequest *req, PendingReply *reply, Failure *f);

/* BindMountMachine / Machine.BindMount: the helper clones the host's source as a detached mount
 * (open_tree), makes it read-only if asked (mount_setattr), enters the machine's mount namespace
 * and attaches it (move_mount) on the destination, resolved inside the machine's root and
 * created first with mkdir (a directory, or an empty file for a file source). The destination
 * must be of the source's kind. Cancelled like a copy. */
typedef struct BindRequest {
        const char *src;    /* absolute, on the host */
        const char *dest;   /* absolute, in the machine */
        bool read_only;
        bool mkdir;
} BindRequest;

int machine_bind_mount(Machine *m, const BindRequest *req, PendingReply *reply, Failure *f);
