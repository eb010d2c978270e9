/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "parse-util.h"
#include "path-util.h"
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

int userns_write_maps(pid_t pid, uint32_t base, uint32_t size) {
        char path[64], line[64];

        snprintf(line, sizeof(line), "0 %" PRIu32 " %" PRIu32 "\n", base, size);
        for (const char *const *f = (const char *const[]) { "uid_map", "gid_map", NULL }; *f; f++) {
                int fd;
                ssize_t n;

                snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, *f);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                n = write(fd, line, strlen(line));
                if (n < 0) {
                        int e = errno;
                        close(fd);
                        return -e;
                }
                close(fd);
                if ((size_t) n != strlen(line))
                        return -EIO;
        }
        return 0;
}

/* nftw() passes no userdata: the walk's state, for one walk at a time (spawn does one). */
static uint32_t shift_base;
static int shift_error;

static int shift_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) ftw;
        if (type == FTW_NS || type == FTW_DNR) {
                shift_error = -EACCES;
                return 1;
        }
        uid_t uid = shift_base + (st->st_uid & 0xFFFF);
        gid_t gid = shift_base + (st->st_gid & 0xFFFF);
        if (st->st_uid == uid && st->st_gid == gid)
                return 0;
        if (lchown(path, uid, gid) < 0) {
                shift_error = -errno;
                return 1;
        }
        /* chown() drops the set-user-ID and set-group-ID bits; the tree keeps them. */
        if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)) && chmod(path, st->st_mode & 07777) < 0) {
                shift_error = -errno;
                return 1;
        }
        return 0;
}

int userns_shift_tree(const char *dir, uint32_t base) {
        struct stat st;

        if (lstat(dir, &st) < 0)
                return -errno;
        /* The root directory says which range the tree is in: shifted already, nothing to do. */
        if (st.st_uid == base && st.st_gid == base)
                return 0;
        shift_base = base;
        shift_error = 0;
        /* Depth first, so the root directory changes last: an interrupted shift is redone. */
        if (nftw(dir, shift_one, 64, FTW_PHYS | FTW_MOUNT | FTW_DEPTH) < 0)
                return -errno;
        return shift_error;
}
