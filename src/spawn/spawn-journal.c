/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "spawn-journal.h"
#include "strv.h"

int machine_id_parse(const char *s, char ret[static 33]) {
        size_t n = strcspn(s, "\n");

        if (n != 32)
                return -EINVAL;
        for (size_t i = 0; i < 32; i++) {
                int v = unhexchar(s[i]);
                if (v < 0)
                        return -EINVAL;
                ret[i] = "0123456789abcdef"[v];
        }
        ret[32] = 0;
        return 0;
}

/* The tree's /etc/machine-id: 1 and the ID, 0 when it is absent or empty (systemd fills it at
 * first boot), < 0 on other errors. */
static int read_tree_machine_id(int rootfd, char ret[static 33]) {
        _cleanup_free_ char *s = NULL;
        _cleanup_close_ int fd = open_regular_in_root(rootfd, "/etc/machine-id", 4096);

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        int r = read_full_fd(fd, 4096, &s, NULL);
        if (r < 0)
                return r;
        if (isempty(s) || streq(s, "\n") || strneq(s, "uninitialized", 13))
                return 0;
        r = machine_id_parse(s, ret);
        return r < 0 ? r : 1;
}

static bool host_machine_id_equals(const char *id) {
        _cleanup_free_ char *s = NULL;
        _cleanup_close_ int fd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC);
        char host[33];

        return fd >= 0 && read_full_fd(fd, 4096, &s, NULL) >= 0 && machine_id_parse(s, host) >= 0 &&
               streq(host, id);
}

/* The host's entry for this guest: a symlink left by an earlier guest mode is replaced unless
 * it already points into this tree; an empty directory is removed for guest mode. 1: nothing
 * left to do. */
static int host_entry_prepare(LinkJournal mode, const char *p, const char *q) {
        char buf[PATH_MAX];
        ssize_t n = readlink(p, buf, sizeof(buf) - 1);

        if (n >= 0) {
                buf[n] = 0;
                if ((mode == LINK_JOURNAL_GUEST || mode == LINK_JOURNAL_TRY_GUEST || mode == LINK_JOURNAL_AUTO) && streq(buf, q))
                        return 1;
                if (unlink(p) < 0)
                        return log_error_errno(errno, "Failed to remove symlink %s: %m", p);
                return 0;
        }
        if (errno == EINVAL && mode == LINK_JOURNAL_GUEST && rmdir(p) < 0) {
                if (errno == ENOTDIR)
                        return log_error_errno(EEXIST, "%s already exists and is neither a symlink nor a directory.", p);
                return log_error_errno(errno, "Failed to remove %s: %m", p);
        }
        if (errno != EINVAL && errno != ENOENT)
                return log_error_errno(errno, "Failed to read link %s: %m", p);
        return 0;
}

/* A journal directory made in the tree belongs to whoever owns the tree's root: under -U with a
 * shifted tree (--private-users-ownership=chown) that is the container's root, so its journald
 * can write there; we run as the host's root, and mkdir() alone would leave it to the host's
 * root, which the guest sees as nobody. */
static void journal_dir_own(int rootfd, int fd) {
        struct stat root, st;
        if (fd < 0 || fstat(rootfd, &root) < 0 || fstat(fd, &st) < 0)
                return;
        if (root.st_uid != 0 && st.st_uid == 0) /* fd may be O_PATH: fchown() would fail */
                (void) fchownat(fd, "", root.st_uid, root.st_gid, AT_EMPTY_PATH);
}

static int journal_mkdir(int rootfd, const char *path) {
        /* /var and /var/log too: a tree may have neither. */
        static const char *const parents[] = { "/var", "/var/log" };
        for (size_t i = 0; i < ELEMENTSOF(parents); i++) {
                _cleanup_close_ int d = mkdir_p_in_root(rootfd, parents[i], 0755);
                journal_dir_own(rootfd, d);
        }
        _cleanup_close_ int parent = mkdir_p_in_root(rootfd, "/var/log/journal", 0755);
        if (parent < 0)
                return parent;
        journal_dir_own(rootfd, parent);
        if (streq(path, "/var/log/journal"))
                return TAKE_FD(parent);
        int fd = mkdir_p_in_root(rootfd, path, 0755);
        journal_dir_own(rootfd, fd);
        return fd;
}

/* --link-journal=host under -U: the host's directory is bound into the container as it is, so the
 * shifted root (the container's root) must own it for its journald to write there. */
static void journal_host_dir_own(const SpawnResolved *r, int fd) {
        if (r->userns && fd >= 0 && fchown(fd, r->uid_shift, r->uid_shift) < 0)
                log_debug_errno(errno, "Failed to hand the host's journal directory to the container's root: %m");
}

static int journal_link(const SpawnOptions *o, SpawnResolved *r, int rootfd, const char *id, bool try) {
        const char *host_dir = getenv("BERTH_JOURNAL_DIR") ?: SPAWN_HOST_JOURNAL_DIR;
        LinkJournal mode = o->link_journal;
        _cleanup_free_ char *p = strjoin(host_dir, "/", id);
        _cleanup_free_ char *target = strjoin("/var/log/journal/", id);
        _cleanup_free_ char *q = strjoin(r->directory, target);
        int k;

        if (!p || !target || !q)
                return log_oom();
        _cleanup_close_ int vfd = journal_mkdir(rootfd, "/var/log/journal");
        if (vfd < 0) {
                if (vfd == -EROFS && try)
                        return 0;
                return log_error_errno(vfd, "Failed to create /var/log/journal in the container: %m");
        }

        k = host_entry_prepare(mode, p, q);
        if (k > 0) {
                /* Linked by an earlier run: only make sure the guest's side is there. */
                safe_close(journal_mkdir(rootfd, target));
                return 0;
        }
        if (k < 0)
                return k;
        if ((mode == LINK_JOURNAL_GUEST || mode == LINK_JOURNAL_TRY_GUEST)) {
                if (symlink(q, p) < 0) {
                        if (try)
                                return 0;
                        return log_error_errno(errno, "Failed to symlink %s to %s: %m", q, p);
                }
                _cleanup_close_ int d = journal_mkdir(rootfd, target);
                if (d < 0)
                        log_warning_errno(d, "Failed to create directory %s: %m", q);
                return 0;
        }
        if ((mode == LINK_JOURNAL_HOST || mode == LINK_JOURNAL_TRY_HOST)) {
                /* No parents: a host without a persistent journal does not get one from us. */
                if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                        if (try)
                                return 0;
                        return log_error_errno(errno, "Failed to create %s: %m", p);
                }
                _cleanup_close_ int d = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                journal_host_dir_own(r, d);
        } else if (access(p, F_OK) < 0)
                return 0;       /* auto: bind the host's directory only when it is there */

        r->journal_bind_source = TAKE_PTR(p);
        r->journal_bind_target = TAKE_PTR(target);
        return 0;
}

int spawn_journal_resolve(const SpawnOptions *o, SpawnResolved *r) {
        bool try = o->link_journal == LINK_JOURNAL_TRY_HOST || o->link_journal == LINK_JOURNAL_TRY_GUEST ||
                   o->link_journal == LINK_JOURNAL_AUTO;
        char id[33];
        int k;

        /* As nspawn: a throwaway root has no journal worth keeping. */
        if (o->link_journal == LINK_JOURNAL_NO || o->ephemeral)
                return 0;

        _cleanup_close_ int rootfd = open(r->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", r->directory);
        k = read_tree_machine_id(rootfd, id);
        if (k == 0 && try)
                return 0;
        if (k == 0)
                return log_error_errno(ENOENT, "--link-journal=%s needs the container's machine ID, but its /etc/machine-id is missing or empty.",
                                       link_journal_to_string(o->link_journal));
        if (k < 0)
                return log_error_errno(k, "Failed to read machine ID from container image: %m");
        if (host_machine_id_equals(id)) {
                if (try) {
                        log_warning("Host and machine ids are equal (%s): refusing to link journals", id);
                        return 0;
                }
                return log_error_errno(EEXIST, "Host and machine ids are equal (%s): refusing to link journals", id);
        }
        return journal_link(o, r, rootfd, id, try);
}
