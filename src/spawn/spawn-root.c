/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "spawn-options.h"
#include "spawn-root.h"
#include "spawn-userns.h"

/* --private-users-ownership=map: an idmapped copy of the tree, detached, for this boot (a detached
 * mount can be attached once; --restart-on-reboot boots again). */
static int directory_prepare(RootProvider *p, const SpawnConfig *c) {
        if (c->res.idmap_root_userns_fd < 0)
                return 0;
        p->tree_fd = userns_idmap_clone(AT_FDCWD, p->path, true, c->res.idmap_root_userns_fd);
        if (p->tree_fd < 0)
                return log_error_errno(p->tree_fd, "Failed to ID-map %s: %m", p->path);
        return 0;
}

static void directory_cleanup(RootProvider *p) {
        p->tree_fd = safe_close(p->tree_fd);
}

static int directory_mount(RootProvider *p, const SpawnConfig *c, int *ret_rootfd) {
        /* Attached in our own mount namespace. */
        if (p->tree_fd >= 0) {
                if (syscall(SYS_move_mount, p->tree_fd, "", AT_FDCWD, p->path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return log_error_errno(errno, "Failed to mount the ID-mapped %s: %m", p->path);
        /* Otherwise the tree becomes a mount point of its own so it can be pivoted into. */
        } else if (mount(p->path, p->path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return log_error_errno(errno, "Failed to bind-mount %s: %m", p->path);
        int fd = open(p->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", p->path);
        *ret_rootfd = fd;
        return 0;
}

static const RootProviderOps root_directory_ops = {
        .name = "directory",
        .prepare = directory_prepare,
        .mount = directory_mount,
        .cleanup = directory_cleanup,
};

int root_provider_setup(RootProvider *p, const SpawnConfig *c) {
        *p = (RootProvider) { .ops = &root_directory_ops, .path = c->res.directory, .tree_fd = -EBADF };
        if (!p->ops->prepare)
                return 0;
        int r = p->ops->prepare(p, c);
        if (r < 0)
                root_provider_cleanup(p);
        return r;
}

int root_provider_mount(RootProvider *p, const SpawnConfig *c, int *ret_rootfd) {
        /* Nothing we mount from here on may propagate back to the host, while host mounts that
         * appear later still reach us: slave, recursively. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return log_error_errno(errno, "Failed to make the mount tree a slave: %m");
        return p->ops->mount(p, c, ret_rootfd);
}

void root_provider_cleanup(RootProvider *p) {
        if (p->ops && p->ops->cleanup)
                p->ops->cleanup(p);
        *p = ROOT_PROVIDER_NULL;
}
