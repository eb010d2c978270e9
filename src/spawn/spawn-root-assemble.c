/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "name-util.h"
#include "spawn-image.h"
#include "spawn-options.h"
#include "spawn-root-assemble.h"
#include "spawn-stage.h"
#include "spawn-volatile.h"
#include "strv.h"

static int ephemeral_machine_name(const SpawnOptions *o, SpawnResolved *res) {
        if (o->machine || !o->ephemeral || !(res->directory || res->image))
                return 0;
        /* As nspawn: a random suffix, so that many throwaway runs of one tree can run at once. */
        _cleanup_free_ char *abs = realpath(res->image ?: res->directory, NULL);
        if (!abs)
                return 0; /* verify_directory() or the image setup says what is wrong */
        char *base = strrchr(abs, '/') + 1;
        size_t n = strlen(base);
        if (res->image && n > 4 && streq(base + n - 4, ".raw"))
                base[n - 4] = '\0';
        Id128 id;
        int r = id128_randomize(&id);
        if (r < 0)
                return log_error_errno(r, "Failed to generate a machine name: %m");
        if (asprintf(&res->machine, "%.46s-%02x%02x%02x%02x%02x%02x%02x%02x", base, id.bytes[0], id.bytes[1],
                     id.bytes[2], id.bytes[3], id.bytes[4], id.bytes[5], id.bytes[6], id.bytes[7]) < 0)
                return log_oom();
        if (!machine_name_is_valid(hostname_cleanup(res->machine)))
                return log_error_errno(EINVAL, "%s name '%s' is not a valid machine name; pass -M/--machine=NAME.",
                                       res->image ? "Image" : "Directory", base);
        return 0;
}

/* -M NAME alone, as nspawn: the image of that name in the pool, a directory or NAME.raw. */
static int image_by_machine_name(const SpawnOptions *o, SpawnResolved *res) {
        if (res->directory || res->image || !o->machine)
                return 0;
        _cleanup_free_ char *dir = strjoin(SPAWN_IMAGE_POOL "/", o->machine), *raw = strjoin(dir ?: "", ".raw");
        if (!dir || !raw)
                return log_oom();
        struct stat st;
        if (stat(dir, &st) >= 0 && S_ISDIR(st.st_mode))
                res->directory = TAKE_PTR(dir);
        else if (stat(raw, &st) >= 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
                res->image = TAKE_PTR(raw);
        return 0; /* neither: verify_directory() asks for -D */
}

int spawn_root_assemble(const SpawnOptions *o, SpawnResolved *res) {
        int r;
        if (o->image && o->directory)
                return log_error_errno(EINVAL, "-D/--directory= and -i/--image= cannot be combined.");
        if (o->template_dir && !o->directory)
                return log_error_errno(EINVAL, "--template= needs -D/--directory=.");
        if (o->template_dir && o->ephemeral)
                return log_error_errno(EINVAL, "--template= and -x/--ephemeral cannot be combined.");
        if (o->ephemeral && o->volatile_mode != VOLATILE_NO)
                return log_error_errno(EINVAL, "-x/--ephemeral and --volatile= cannot be combined.");
        /* What the user named, or what -M NAME alone finds. */
        if ((o->directory && !(res->directory = strdup(o->directory))) || (o->image && !(res->image = strdup(o->image))))
                return log_oom();
        r = image_by_machine_name(o, res);
        if (r < 0)
                return r;
        r = spawn_template_apply(o, res);
        if (r < 0)
                return r;
        r = ephemeral_machine_name(o, res);
        if (r < 0)
                return r;
        if (res->image || res->directory)
                res->origin = realpath(res->image ?: res->directory, NULL); /* NULL: the checks below say why */
        if (res->image) {
#if HAVE_BLKID
                r = spawn_image_setup(o, res);
#else
                r = log_error_errno(EOPNOTSUPP, "-i/--image= needs libblkid, which this spawn was built without.");
#endif
                if (r < 0)
                        return r;
        } else if (res->directory && (o->ephemeral || o->volatile_mode != VOLATILE_NO || o->n_overlays > 0)) {
                /* Checked here already: the overlays below need the real tree. */
                struct stat st;
                if (stat(res->directory, &st) < 0)
                        return log_error_errno(errno, "Container tree %s: %m", res->directory);
                if (!S_ISDIR(st.st_mode))
                        return log_error_errno(ENOTDIR, "Container tree %s is not a directory.", res->directory);
        }
        if (res->directory)
                r = spawn_volatile_setup(o, res);
        if (r < 0)
                return r;
        /* Nothing assembled: resolve_directory() checks and resolves the tree as given. */
        if (res->directory && !startswith(res->directory, SPAWN_STAGE "/")) {
                free(res->directory);
                res->directory = NULL;
        }
        return 0;
}

