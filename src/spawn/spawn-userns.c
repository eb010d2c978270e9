/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <endian.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"
#include "path-util.h"
#include "process-util.h"
#include "spawn-userns.h"
#include "string-table.h"

static const char *const userns_mode_table[_USERNS_MODE_MAX] = {
        [USERNS_NO] = "no",
        [USERNS_FIXED] = "fixed",
        [USERNS_TREE] = "yes",
        [USERNS_PICK] = "pick",
        [USERNS_IDENTITY] = "identity",
};

DEFINE_STRING_TABLE_LOOKUP(userns_mode, UsernsMode)

static const char *const userns_ownership_table[_USERNS_OWNERSHIP_MAX] = {
        [USERNS_OWNERSHIP_OFF] = "off",
        [USERNS_OWNERSHIP_CHOWN] = "chown",
        [USERNS_OWNERSHIP_MAP] = "map",
        [USERNS_OWNERSHIP_AUTO] = "auto",
};

DEFINE_STRING_TABLE_LOOKUP(userns_ownership, UsernsOwnership)

static int parse_u32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r = safe_atou64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int userns_spec_parse(const char *s, UsernsSpec *ret) {
        UsernsSpec spec = { .size = USERNS_RANGE_SIZE };
        int r;

        if (!s || !*s)
                return -EINVAL;

        /* Words first, nspawn's boolean spellings included: "yes" is the tree owner's range. */
        if (streq(s, "pick"))
                spec.mode = USERNS_PICK;
        else if (streq(s, "identity"))
                spec.mode = USERNS_IDENTITY;
        else if ((r = parse_boolean(s)) >= 0)
                spec.mode = r ? USERNS_TREE : USERNS_NO;
        else {
                const char *colon = strchr(s, ':');
                char buf[16];

                if (colon) {
                        if ((size_t) (colon - s) >= sizeof(buf))
                                return -EINVAL;
                        memcpy(buf, s, colon - s);
                        buf[colon - s] = 0;
                        r = parse_u32(colon + 1, &spec.size);
                        if (r < 0)
                                return r == -ERANGE ? r : -EINVAL;
                } else {
                        if (strlen(s) >= sizeof(buf))
                                return -EINVAL;
                        strcpy(buf, s);
                }
                r = parse_u32(buf, &spec.base);
                if (r < 0)
                        return r == -ERANGE ? r : -EINVAL;
                if (spec.size == 0 || (uint64_t) spec.base + spec.size > (uint64_t) UINT32_MAX)
                        return -ERANGE;
                spec.mode = USERNS_FIXED;
        }

        *ret = spec;
        return 0;
}

bool userns_range_overlaps(uint32_t base, uint32_t size, const uint32_t *ids, size_t n_ids) {
        for (size_t i = 0; i < n_ids; i++)
                if (ids[i] >= base && (uint64_t) ids[i] < (uint64_t) base + size)
                        return true;
        return false;
}

int userns_ids_read(FILE *f, uint32_t **ids, size_t *n_ids) {
        char line[4096];

        while (fgets(line, sizeof(line), f)) {
                /* name:password:ID:... — the third field, in passwd and group alike. */
                char *p = strchr(line, ':'), *end;
                uint32_t id;

                if (!p || !(p = strchr(p + 1, ':')))
                        continue;
                p++;
                end = strchr(p, ':');
                if (!end)
                        continue;
                *end = 0;
                if (parse_u32(p, &id) < 0)
                        continue;  /* NIS "+" lines and the like: not an ID. */

                uint32_t *n = realloc(*ids, (*n_ids + 1) * sizeof(uint32_t));
                if (!n)
                        return -ENOMEM;
                n[(*n_ids)++] = id;
                *ids = n;
        }
        return ferror(f) ? -EIO : 0;
}

#define USERNS_N_RANGES ((USERNS_PICK_MAX - USERNS_PICK_MIN) / USERNS_RANGE_SIZE + 1)

uint32_t userns_base_from_name(const char *name) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (const char *p = name ? name : ""; *p; p++) {
                h ^= (uint8_t) *p;
                h *= UINT64_C(0x100000001b3);
        }
        return USERNS_PICK_MIN + (uint32_t) (h % USERNS_N_RANGES) * USERNS_RANGE_SIZE;
}

static bool base_in_window(uint32_t base) {
        return base >= USERNS_PICK_MIN && base <= USERNS_PICK_MAX && base % USERNS_RANGE_SIZE == 0;
}

uint32_t userns_candidate(const char *name, uid_t tree_owner, unsigned i) {
        bool owner = tree_owner != (uid_t) -1 && base_in_window((uint32_t) tree_owner);

        if (owner) {
                if (i == 0)
                        return (uint32_t) tree_owner;
                i--;
        }
        uint32_t slot = (userns_base_from_name(name) - USERNS_PICK_MIN) / USERNS_RANGE_SIZE;
        return USERNS_PICK_MIN + (uint32_t) ((slot + (uint64_t) i) % USERNS_N_RANGES) * USERNS_RANGE_SIZE;
}

int userns_pick(const char *name, uid_t tree_owner, const uint32_t *host_ids, size_t n_host_ids,
                userns_lock_fn lock, void *userdata, uint32_t *ret_base) {

        /* Every range of the window once, plus the owner's. A full scan is cheap (28664 ranges
         * times the host's IDs) and only happens when the first candidates are all taken. */
        for (unsigned i = 0; i <= USERNS_N_RANGES; i++) {
                uint32_t base = userns_candidate(name, tree_owner, i);

                if (userns_range_overlaps(base, USERNS_RANGE_SIZE, host_ids, n_host_ids))
                        continue;
                if (lock) {
                        int r = lock(base, userdata);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                }
                *ret_base = base;
                return 0;
        }
        return -EBUSY;
}

static int ids_load_file(const char *root, const char *file, uint32_t **ids, size_t *n) {
        char path[PATH_MAX];
        FILE *f;
        int r;

        if (snprintf(path, sizeof(path), "%s%s", root ? root : "", file) >= (int) sizeof(path))
                return -ENAMETOOLONG;
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        r = userns_ids_read(f, ids, n);
        fclose(f);
        return r;
}

int userns_host_ids_load(const char *root, uint32_t **ret_ids, size_t *ret_n) {
        uint32_t *ids = NULL;
        size_t n = 0;
        int r;

        r = ids_load_file(root, "/etc/passwd", &ids, &n);
        if (r >= 0)
                r = ids_load_file(root, "/etc/group", &ids, &n);
        if (r < 0) {
                free(ids);
                return r;
        }
        *ret_ids = ids;
        *ret_n = n;
        return 0;
}

static int lock_path(const char *dir, uint32_t base, char *buf, size_t size) {
        if (snprintf(buf, size, "%s/%" PRIu32, dir, base) >= (int) size)
                return -ENAMETOOLONG;
        return 0;
}

int userns_range_lock(const char *dir, uint32_t base, int *ret_fd) {
        char path[PATH_MAX];
        int fd, r;

        r = lock_path(dir, base, path, sizeof(path));
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;

        for (;;) {
                struct stat a, b;

                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return -errno;
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        r = errno;
                        close(fd);
                        return r == EWOULDBLOCK ? 1 : -r;
                }
                /* The holder before us may have removed the file between our open and our flock:
                 * then our lock is on an orphan and we take the new file instead. */
                if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                        break;
                close(fd);
        }
        *ret_fd = fd;
        return 0;
}

void userns_range_unlock(const char *dir, uint32_t base, int fd) {
        char path[PATH_MAX];

        if (fd < 0)
                return;
        /* Unlinked while still locked, so nobody locks the name we are about to remove. */
        if (lock_path(dir, base, path, sizeof(path)) >= 0)
                (void) unlink(path);
        close(fd);
}

static int write_map_text(pid_t pid, const char *text) {
        char path[64];

        for (const char *const *f = (const char *const[]) { "uid_map", "gid_map", NULL }; *f; f++) {
                int fd;
                ssize_t n;

                snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, *f);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                n = write(fd, text, strlen(text));
                if (n < 0) {
                        int e = errno;
                        close(fd);
                        return -e;
                }
                close(fd);
                if ((size_t) n != strlen(text))
                        return -EIO;
        }
        return 0;
}

int userns_write_maps(pid_t pid, uint32_t base, uint32_t size) {
        char line[64];

        snprintf(line, sizeof(line), "0 %" PRIu32 " %" PRIu32 "\n", base, size);
        return write_map_text(pid, line);
}

/* Helpers not reaped yet: waiting for each one's exit on the way to the container's start costs a
 * trip through the scheduler (10 ms and more on a loaded machine); they are reaped at the end. */
static pid_t unreaped[16];
static size_t n_unreaped;

void userns_helpers_reap(void) {
        for (size_t i = 0; i < n_unreaped; i++)
                while (waitpid(unreaped[i], NULL, 0) < 0 && errno == EINTR)
                        ;
        n_unreaped = 0;
}

int userns_make_fd(uint32_t from, uint32_t to, uint32_t size) {
        char line[64];
        int pipefd[2], fd, r;

        snprintf(line, sizeof(line), "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", from, to, size);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        /* A process only to own the namespace while its maps are written and its fd is opened:
         * fork-like (no stack of its own), it waits for the pipe's EOF and exits. */
        pid_t pid = (pid_t) syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
        if (pid < 0) {
                r = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                char c;
                close(pipefd[1]);
                (void) !read(pipefd[0], &c, 1);
                _exit(0);
        }
        close(pipefd[0]);
        r = write_map_text(pid, line);
        if (r >= 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                r = fd < 0 ? -errno : fd;
        }
        close(pipefd[1]);
        if (waitpid(pid, NULL, WNOHANG) == 0) {
                if (n_unreaped < ELEMENTSOF(unreaped))
                        unreaped[n_unreaped++] = pid;
                else
                        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                                ;
        }
        return r;
}

int userns_holder_start(uint32_t base, uint32_t size, UsernsHolder *ret) {
        _cleanup_(userns_holder_done) UsernsHolder h = USERNS_HOLDER_NULL;
        pid_t parent = getpid();
        char path[64];
        int r;

        /* One clone makes both, the network namespace owned by the new user namespace. */
        h.pid = clone_with_pidfd(CLONE_NEWUSER | CLONE_NEWNET, &h.pidfd);
        if (h.pid < 0) {
                r = h.pid;
                h.pid = 0;
                return r;
        }
        if (h.pid == 0) {
                /* Nothing of the supervisor's (its sync socket's EOF, spawn-nat's descriptor)
                 * may live on in here. It only exists until killed. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(EXIT_FAILURE);
                (void) fd_close_all_except(NULL, 0);
                for (;;)
                        pause();
        }
        r = userns_write_maps(h.pid, base, size);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) h.pid);
        h.userns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (h.userns_fd < 0)
                return -errno;
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) h.pid);
        h.netns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (h.netns_fd < 0)
                return -errno;
        *ret = h;
        h = (UsernsHolder) USERNS_HOLDER_NULL;
        return 0;
}

pid_t userns_holder_clone(const UsernsHolder *h, uint64_t flags, int *ret_pidfd) {
        _cleanup_close_ int own = -EBADF;
        int r;

        if (h->netns_fd >= 0) {
                own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
                if (own < 0)
                        return -errno;
                if (setns(h->netns_fd, CLONE_NEWNET) < 0)
                        return -errno;
        }
        pid_t pid = clone_with_pidfd(flags, ret_pidfd);
        if (pid == 0 || own < 0)
                return pid;
        if (setns(own, CLONE_NEWNET) >= 0)
                return pid;
        /* Cannot happen (we were there a moment ago), but the supervisor must not go on in the
         * container's namespace. */
        r = -errno;
        if (pid > 0) {
                (void) pidfd_signal(*ret_pidfd, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                *ret_pidfd = safe_close(*ret_pidfd);
        }
        return r;
}

void userns_holder_release(UsernsHolder *h) {
        if (h->pidfd >= 0)
                (void) pidfd_signal(h->pidfd, SIGKILL);
}

void userns_holder_close_fds(UsernsHolder *h) {
        h->userns_fd = safe_close(h->userns_fd);
        h->netns_fd = safe_close(h->netns_fd);
}

void userns_holder_done(UsernsHolder *h) {
        userns_holder_close_fds(h);
        if (h->pid > 0) {
                userns_holder_release(h);
                while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        h->pid = 0;
        h->pidfd = safe_close(h->pidfd);
}

int userns_idmap_clone(int dirfd, const char *path, bool recursive, int userns_fd) {
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = userns_fd };
        unsigned rec = recursive ? AT_RECURSIVE : 0;
        int fd, r;

        fd = (int) syscall(SYS_open_tree, dirfd, path,
                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW | rec | (isempty(path) ? AT_EMPTY_PATH : 0));
        if (fd < 0)
                return -errno;
        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) < 0) {
                r = -errno;
                close(fd);  /* detached: closing it unmounts the copy */
                return r;
        }
        return fd;
}

/* The kernel's on-disk POSIX ACL format (the xattr ABI): a version header, then entries. */
#define ACL_XATTR_VERSION 2
#define ACL_TAG_USER  0x02
#define ACL_TAG_GROUP 0x08
struct acl_xattr_entry {
        uint16_t tag;
        uint16_t perm;
        uint32_t id;
};

static uint32_t shift_id(uint32_t id, uint32_t base) {
        return base + (id & 0xFFFF);
}

/* The named users and groups of an access or default ACL, shifted like the owners. */
static int shift_acl(const char *path, const char *name, uint32_t base) {
        uint8_t buf[4 + 8 * 512];
        ssize_t n = lgetxattr(path, name, buf, sizeof(buf));
        bool changed = false;

        if (n < 0)
                return errno == ENODATA || errno == EOPNOTSUPP ? 0 : -errno;
        if (n < 4 || (n - 4) % sizeof(struct acl_xattr_entry) != 0 || le32toh(*(uint32_t *) buf) != ACL_XATTR_VERSION)
                return -EBADMSG;
        for (struct acl_xattr_entry *e = (struct acl_xattr_entry *) (buf + 4); (uint8_t *) e < buf + n; e++) {
                uint16_t tag = le16toh(e->tag);
                uint32_t id = le32toh(e->id);
                if ((tag != ACL_TAG_USER && tag != ACL_TAG_GROUP) || id == shift_id(id, base))
                        continue;
                e->id = htole32(shift_id(id, base));
                changed = true;
        }
        if (changed && lsetxattr(path, name, buf, n, 0) < 0)
                return -errno;
        return 0;
}

/* File capabilities (security.capability), which chown() removes: read before, written back
 * after as version 3 with the container's root as their root ID, since a version 2 capability
 * (root ID 0, the host's root) is ignored inside a user namespace that does not map 0 to 0. */
static ssize_t caps_read(const char *path, struct vfs_ns_cap_data *ret) {
        ssize_t n = lgetxattr(path, "security.capability", ret, sizeof(*ret));
        if (n < 0)
                return errno == ENODATA || errno == EOPNOTSUPP ? 0 : -errno;
        return n;
}

static int caps_write_shifted(const char *path, struct vfs_ns_cap_data *caps, ssize_t n, uint32_t base) {
        uint32_t magic = le32toh(caps->magic_etc);
        uint32_t rootid = (magic & VFS_CAP_REVISION_MASK) == VFS_CAP_REVISION_3 && n >= (ssize_t) XATTR_CAPS_SZ_3 ?
                          le32toh(caps->rootid) : 0;

        if ((magic & VFS_CAP_REVISION_MASK) != VFS_CAP_REVISION_2 && (magic & VFS_CAP_REVISION_MASK) != VFS_CAP_REVISION_3)
                return -EBADMSG;
        caps->magic_etc = htole32(VFS_CAP_REVISION_3 | (magic & VFS_CAP_FLAGS_EFFECTIVE));
        caps->rootid = htole32(shift_id(rootid, base));
        if (lsetxattr(path, "security.capability", caps, XATTR_CAPS_SZ_3, 0) < 0)
                return -errno;
        return 0;
}

/* nftw() passes no userdata: the walk's state, for one walk at a time (spawn does one). */
static uint32_t shift_base;
static int shift_error;

static int shift_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        struct vfs_ns_cap_data caps;
        ssize_t n_caps = 0;
        int r;

        (void) ftw;
        if (type == FTW_NS || type == FTW_DNR) {
                shift_error = -EACCES;
                return 1;
        }
        uid_t uid = shift_id(st->st_uid, shift_base);
        gid_t gid = shift_id(st->st_gid, shift_base);
        if (st->st_uid == uid && st->st_gid == gid)
                return 0;
        if (!S_ISLNK(st->st_mode)) {
                r = shift_acl(path, "system.posix_acl_access", shift_base);
                if (r >= 0 && S_ISDIR(st->st_mode))
                        r = shift_acl(path, "system.posix_acl_default", shift_base);
                if (r >= 0 && S_ISREG(st->st_mode))
                        r = n_caps = caps_read(path, &caps);
                if (r < 0) {
                        shift_error = r;
                        return 1;
                }
        }
        if (lchown(path, uid, gid) < 0) {
                shift_error = -errno;
                return 1;
        }
        /* chown() drops the set-user-ID and set-group-ID bits; the tree keeps them. */
        if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)) && chmod(path, st->st_mode & 07777) < 0) {
                shift_error = -errno;
                return 1;
        }
        if (n_caps > 0 && (r = caps_write_shifted(path, &caps, n_caps, shift_base)) < 0) {
                shift_error = r;
                return 1;
        }
        return 0;
}

int userns_shift_tree(const char *dir, uint32_t base, bool cross_mounts) {
        struct stat st;

        if (lstat(dir, &st) < 0)
                return -errno;
        /* The root directory says which range the tree is in: shifted already, nothing to do. */
        if (st.st_uid == base && st.st_gid == base)
                return 0;
        shift_base = base;
        shift_error = 0;
        /* Depth first, so the root directory changes last: an interrupted shift is redone. */
        if (nftw(dir, shift_one, 64, FTW_PHYS | (cross_mounts ? 0 : FTW_MOUNT) | FTW_DEPTH) < 0)
                return -errno;
        return shift_error;
}
