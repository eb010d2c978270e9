/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "log.h"
#include "path-util.h"
#include "spawn-stage.h"

static bool stage_entered = false;
static unsigned stage_counter = 0;

int spawn_stage_enter(void) {
        if (stage_entered)
                return 0;
        /* Our own mount namespace, receiving the host's mounts but sending none back. */
        if (unshare(CLONE_NEWNS) < 0)
                return log_error_errno(errno, "Failed to create a mount namespace for the container's root: %m");
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return log_error_errno(errno, "Failed to make the mount tree a slave: %m");
        int r = mkdir_p(SPAWN_STAGE, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SPAWN_STAGE);
        if (mount("tmpfs", SPAWN_STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
                return log_error_errno(errno, "Failed to mount a tmpfs on %s: %m", SPAWN_STAGE);
        if (mkdir(SPAWN_STAGE_ROOT, 0755) < 0)
                return log_error_errno(errno, "Failed to create %s: %m", SPAWN_STAGE_ROOT);
        stage_entered = true;
        return 0;
}

int spawn_stage_mkdir(const char *prefix, char **ret) {
        int r = spawn_stage_enter();
        if (r < 0)
                return r;
        char *p;
        if (asprintf(&p, "%s/%s.%u", SPAWN_STAGE, prefix, stage_counter++) < 0)
                return log_oom();
        if (mkdir(p, 0755) < 0) {
                r = log_error_errno(errno, "Failed to create %s: %m", p);
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}
