/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "strv.h"
#include "tap.h"

/* The layout, all in fresh temporary directories:
 *   BASE/tree                 the "container tree", opened as rootfd
 *   BASE/tree/etc    -> OUT   absolute symlink to a directory outside the tree
 *   BASE/tree/up     -> ../../..
 *   BASE/tree/esc    -> ../../../../../../../..OUT/x
 *   BASE/tree/marker          a regular file inside the tree
 *   OUT/x                     "OUTSIDE": must never be reached through rootfd
 * Inside the tree, OUT's absolute path is where the etc symlink must lead: BASE/tree/OUT. */
static char base[] = "/tmp/berth-test-fd-XXXXXX";
static char out[] = "/tmp/berth-test-out-XXXXXX";
static char *tree, *tree_out; /* BASE/tree and BASE/tree/OUT */

static bool same_inode(int fd, const char *path) {
        struct stat a, b;
        if (fstat(fd, &a) < 0 || stat(path, &b) < 0)
                return false;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool path_exists(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0;
}

static bool is_dir(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Reads what an fd opened for reading holds, NUL-terminated, or NULL. */
static char *read_fd(int fd) {
        char buf[256];
        ssize_t k = pread(fd, buf, sizeof(buf) - 1, 0);
        if (k < 0)
                return NULL;
        buf[k] = 0;
        return strdup(buf);
}

static int write_path(const char *path, const char *data) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        int r = loop_write(fd, data, strlen(data));
        close(fd);
        return r;
}

/* The only entry OUT may ever have is its own "x". */
static bool out_untouched(void) {
        DIR *d = opendir(out);
        bool ok = true;
        if (!d)
                return false;
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && !streq(de->d_name, "x")) {
                        printf("# unexpected entry in %s: %s\n", out, de->d_name);
                        ok = false;
                }
        closedir(d);
        _cleanup_free_ char *x = strjoin(out, "/x");
        int fd = x ? open(x, O_RDONLY | O_CLOEXEC) : -ENOMEM;
        if (fd < 0)
                return false;
        _cleanup_free_ char *content = read_fd(fd);
        close(fd);
        return ok && content && streq(content, "OUTSIDE");
}

static int setup(void) {
        if (!mkdtemp(base) || !mkdtemp(out))
                return -errno;
        tree = strjoin(base, "/tree");
        tree_out = strjoin(base, "/tree", out);
        _cleanup_free_ char *etc = strjoin(tree, "/etc"), *up = strjoin(tree, "/up"), *esc = strjoin(tree, "/esc"),
                            *marker = strjoin(tree, "/marker"), *x = strjoin(out, "/x"),
                            *esc_target = strjoin("../../../../../../../..", out, "/x");
        if (!tree || !tree_out || !etc || !up || !esc || !marker || !x || !esc_target)
                return -ENOMEM;
        if (mkdir(tree, 0755) < 0 || symlink(out, etc) < 0 || symlink("../../..", up) < 0 ||
            symlink(esc_target, esc) < 0)
                return -errno;
        if (write_path(marker, "INSIDE-MARKER") < 0 || write_path(x, "OUTSIDE") < 0)
                return -EIO;
        return 0;
}

static void cleanup(void) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf -- '%s' '%s'", base, out);
        if (system(cmd) != 0)
                printf("# failed to remove %s %s\n", base, out);
        free(tree);
        free(tree_out);
}

static void test_fd_proc_path(void) {
        char buf[PROC_FD_PATH_MAX];
        CHECK_STREQ(fd_proc_path(5, buf), "/proc/self/fd/5");
        CHECK_STREQ(fd_proc_path(2147483647, buf), "/proc/self/fd/2147483647");
}

static void test_open_in_root_escapes(int rootfd) {
        int fd;

        /* The absolute symlink is resolved inside the tree, where its target does not exist. */
        fd = open_in_root(rootfd, "/etc/x", O_RDONLY, 0);
        CHECK(fd == -ENOENT);
        safe_close(fd);
        fd = open_in_root(rootfd, "etc/x", O_RDONLY, 0);
        CHECK(fd == -ENOENT);
        safe_close(fd);
        fd = open_in_root(rootfd, "/esc", O_RDONLY, 0);
        CHECK(fd == -ENOENT);
        safe_close(fd);

        /* Explicit ".." in the path cannot climb above the root either. */
        _cleanup_free_ char *dotdot = strjoin("/../../../../../../..", out, "/x");
        fd = open_in_root(rootfd, dotdot, O_RDONLY, 0);
        CHECK(fd == -ENOENT);
        safe_close(fd);
        fd = open_in_root(rootfd, out + 1, O_RDONLY, 0); /* "tmp/berth-test-out-…" */
        CHECK(fd == -ENOENT);
        safe_close(fd);

        /* "up" -> ../../.. is clamped at the root: /up/marker is the tree's own marker. */
        _cleanup_free_ char *marker = strjoin(tree, "/marker");
        static const char *const to_marker[] = { "/up/marker", "/up/up/up/marker", "/../marker", "up/../marker",
                                                 "/marker" };
        for (size_t i = 0; i < ELEMENTSOF(to_marker); i++) {
                fd = open_in_root(rootfd, to_marker[i], O_RDONLY, 0);
                CHECK(fd >= 0);
                if (fd >= 0) {
                        _cleanup_free_ char *c = read_fd(fd);
                        CHECK_STREQ(c, "INSIDE-MARKER");
                        CHECK(same_inode(fd, marker));
                }
                safe_close(fd);
        }

        fd = open_in_root(rootfd, "/up", O_PATH | O_DIRECTORY, 0);
        CHECK(fd >= 0 && same_inode(fd, tree));
        safe_close(fd);

        /* The fd is O_CLOEXEC even when not asked for. */
        fd = open_in_root(rootfd, "/marker", O_RDONLY, 0);
        CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
        safe_close(fd);

        fd = open_in_root(rootfd, "/nonexistent", O_RDONLY, 0);
        CHECK(fd == -ENOENT);
        safe_close(fd);
        fd = open_in_root(rootfd, "/marker/below", O_RDONLY, 0);
        CHECK(fd == -ENOTDIR);
        safe_close(fd);
        CHECK(out_untouched());
}

static void test_open_in_root_magiclinks(void) {
        /* With /proc/self/fd as the root, every entry is a magic link: refused. */
        _cleanup_close_ int procfd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int target = open("/dev/null", O_RDONLY | O_CLOEXEC);
        char name[16];

        CHECK(procfd >= 0 && target >= 0);
        snprintf(name, sizeof(name), "%d", target);
        int fd = open_in_root(procfd, name, O_RDONLY, 0);
        CHECK(fd == -ELOOP);
        safe_close(fd);
}

static void test_mkdir_p_in_root(int rootfd) {
        _cleanup_free_ char *want = strjoin(tree_out, "/new/dir"), *host = strjoin(out, "/new");
        int fd;

        /* etc -> OUT: the directories are created at OUT's path inside the tree, never in OUT. */
        fd = mkdir_p_in_root(rootfd, "/etc/new/dir", 0755);
        if (fd < 0)
                printf("# mkdir_p_in_root(/etc/new/dir) = %d (%s)\n", fd, strerror(-fd));
        CHECK(fd >= 0);
        CHECK(is_dir(want));
        CHECK(fd >= 0 && same_inode(fd, want));
        CHECK(!path_exists(host));
        CHECK(out_untouched());
        safe_close(fd);

        /* Same through the relative "up" link: the new directory lands in the tree. */
        _cleanup_free_ char *name = strjoin("escaped-", base + strlen("/tmp/"));
        _cleanup_free_ char *spec = strjoin("/up/", name, "/sub"), *in_tree = strjoin(tree, "/", name, "/sub"),
                            *in_host = strjoin("/", name);
        fd = mkdir_p_in_root(rootfd, spec, 0700);
        CHECK(fd >= 0);
        CHECK(is_dir(in_tree));
        CHECK(fd >= 0 && same_inode(fd, in_tree));
        CHECK(!path_exists(in_host));
        safe_close(fd);
        struct stat st;
        CHECK(stat(in_tree, &st) == 0 && (st.st_mode & 07777) == 0700);

        /* Existing directories are simply opened; the fd is O_PATH. */
        fd = mkdir_p_in_root(rootfd, spec, 0700);
        CHECK(fd >= 0 && same_inode(fd, in_tree));
        CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_PATH));
        safe_close(fd);

        fd = mkdir_p_in_root(rootfd, "/", 0755);
        CHECK(fd >= 0 && same_inode(fd, tree));
        safe_close(fd);
        fd = mkdir_p_in_root(rootfd, "", 0755);
        CHECK(fd >= 0 && same_inode(fd, tree));
        safe_close(fd);

        /* Repeated and trailing slashes: the result is the last directory, never the root (a
         * "--tmpfs=/mnt/" must not end up mounted over the whole tree). */
        _cleanup_free_ char *plain = strjoin(tree, "/a/b/c");
        fd = mkdir_p_in_root(rootfd, "//a//b/c/", 0755);
        CHECK(is_dir(plain));
        CHECK(fd >= 0 && same_inode(fd, plain));
        safe_close(fd);
        fd = mount_point_in_root(rootfd, "/a/b/c/", true, 0755);
        CHECK(fd >= 0 && same_inode(fd, plain));
        safe_close(fd);
        fd = mkdir_p_in_root(rootfd, "a/b/c2", 0755);
        _cleanup_free_ char *plain2 = strjoin(tree, "/a/b/c2");
        CHECK(fd >= 0 && same_inode(fd, plain2));
        safe_close(fd);

        /* A regular file in the way. */
        fd = mkdir_p_in_root(rootfd, "/marker/sub", 0755);
        CHECK(fd == -ENOTDIR);
        safe_close(fd);
        CHECK(out_untouched());
}

/* Once the tree has its own directory at OUT's path, the symlink leads there. */
static void test_open_in_root_inside_target(int rootfd) {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "mkdir -p -- '%s'", tree_out);
        CHECK(system(cmd) == 0);
        _cleanup_free_ char *x = strjoin(tree_out, "/x");
        CHECK(write_path(x, "INSIDE-X") == 0);

        static const char *const paths[] = { "/etc/x", "etc/x", "/esc", "/up/etc/x" };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                int fd = open_in_root(rootfd, paths[i], O_RDONLY, 0);
                CHECK(fd >= 0);
                if (fd >= 0) {
                        _cleanup_free_ char *c = read_fd(fd);
                        CHECK_STREQ(c, "INSIDE-X");
                        CHECK(same_inode(fd, x));
                }
                safe_close(fd);
        }

        /* O_CREAT through the symlink creates inside the tree, with the given mode. */
        _cleanup_free_ char *created = strjoin(tree_out, "/created");
        int fd = open_in_root(rootfd, "/etc/created", O_WRONLY | O_CREAT | O_EXCL, 0600);
        CHECK(fd >= 0);
        CHECK(fd >= 0 && same_inode(fd, created));
        safe_close(fd);
        struct stat st;
        CHECK(stat(created, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
        fd = open_in_root(rootfd, "/etc/created", O_WRONLY | O_CREAT | O_EXCL, 0600);
        CHECK(fd == -EEXIST);
        safe_close(fd);
        CHECK(out_untouched());
}

static void test_mount_point_in_root(int rootfd) {
        struct stat st;
        int fd;

        _cleanup_free_ char *osr = strjoin(tree, "/run/host/os-release");
        fd = mount_point_in_root(rootfd, "/run/host/os-release", false, 0644);
        CHECK(fd >= 0);
        CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
        CHECK(fd >= 0 && same_inode(fd, osr));
        CHECK(lstat(osr, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644);
        _cleanup_free_ char *hostdir = strjoin(tree, "/run/host");
        CHECK(is_dir(hostdir));
        safe_close(fd);

        /* Again: the existing file is returned, not an error. */
        fd = mount_point_in_root(rootfd, "/run/host/os-release", false, 0644);
        CHECK(fd >= 0 && same_inode(fd, osr));
        safe_close(fd);

        /* Existing file with content: returned as is, not truncated. */
        _cleanup_free_ char *marker = strjoin(tree, "/marker");
        fd = mount_point_in_root(rootfd, "/marker", false, 0644);
        CHECK(fd >= 0 && same_inode(fd, marker));
        safe_close(fd);
        CHECK(stat(marker, &st) == 0 && st.st_size == (off_t) strlen("INSIDE-MARKER"));

        _cleanup_free_ char *dir = strjoin(tree, "/mnt/point");
        fd = mount_point_in_root(rootfd, "/mnt/point", true, 0755);
        CHECK(fd >= 0 && same_inode(fd, dir));
        CHECK(is_dir(dir));
        safe_close(fd);

        /* Through the etc symlink: created inside the tree. */
        _cleanup_free_ char *via = strjoin(tree_out, "/sub/file"), *via_host = strjoin(out, "/sub");
        fd = mount_point_in_root(rootfd, "/etc/sub/file", false, 0600);
        CHECK(fd >= 0 && same_inode(fd, via));
        CHECK(lstat(via, &st) == 0 && S_ISREG(st.st_mode));
        CHECK(!path_exists(via_host));
        safe_close(fd);

        fd = mount_point_in_root(rootfd, "/top-level-file", false, 0644);
        _cleanup_free_ char *top = strjoin(tree, "/top-level-file");
        CHECK(fd >= 0 && same_inode(fd, top));
        safe_close(fd);

        CHECK(out_untouched());
}

/* A symlink planted as the last component, pointing outside: must never make us create or open
 * anything outside. Either an error or something inside the tree is acceptable. */
static void check_planted(int rootfd, const char *name, const char *link_target, const char *host_target) {
        _cleanup_free_ char *link = strjoin(tree, "/", name);
        CHECK(symlink(link_target, link) == 0);

        _cleanup_free_ char *path = strjoin("/", name);
        int fd = mount_point_in_root(rootfd, path, false, 0644);
        CHECK(!path_exists(host_target));
        CHECK(out_untouched());
        if (fd >= 0) {
                struct stat a, b;
                CHECK(fstat(fd, &a) == 0 && stat(host_target, &b) < 0);
                /* It must be inside the tree: OUT's path below the tree. */
                _cleanup_free_ char *in_tree = strjoin(tree, host_target);
                CHECK(same_inode(fd, in_tree));
        } else
                CHECK(fd < 0);
        safe_close(fd);
}

static void test_planted_symlinks(int rootfd) {
        _cleanup_free_ char *abs_target = strjoin(out, "/planted-target");
        _cleanup_free_ char *rel_target = strjoin("../../../../../../../..", out, "/planted-rel-target");
        _cleanup_free_ char *rel_host = strjoin(out, "/planted-rel-target");
        check_planted(rootfd, "planted", abs_target, abs_target);
        check_planted(rootfd, "planted-rel", rel_target, rel_host);

        /* Pointing at the existing outside file: never returns the outside file. */
        _cleanup_free_ char *x = strjoin(out, "/x"), *leak = strjoin(tree, "/leak");
        CHECK(symlink(x, leak) == 0);
        int fd = mount_point_in_root(rootfd, "/leak", false, 0644);
        CHECK(!(fd >= 0 && same_inode(fd, x)));
        safe_close(fd);
        fd = open_in_root(rootfd, "/leak", O_RDONLY, 0);
        CHECK(!(fd >= 0 && same_inode(fd, x)));
        safe_close(fd);
        CHECK(out_untouched());
}

/* A symlink in the parent path that dangles inside the tree (its target does not exist there yet):
 * like mkdir -p, the target is created inside the tree, and nothing appears on the host. */
static void test_mount_point_dangling_parent(int rootfd) {
        _cleanup_free_ char *name = strjoin("nonexistent-", base + strlen("/tmp/"));
        _cleanup_free_ char *target = strjoin("/", name, "/deeper"), *link = strjoin(tree, "/dangling");
        _cleanup_free_ char *want = strjoin(tree, "/", name, "/deeper/file"), *host = strjoin("/", name);
        struct stat st;

        CHECK(symlink(target, link) == 0);
        int fd = mount_point_in_root(rootfd, "/dangling/file", false, 0644);
        if (fd < 0)
                printf("# mount_point_in_root(/dangling/file) = %d (%s)\n", fd, strerror(-fd));
        CHECK(fd >= 0);
        CHECK(lstat(want, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
        CHECK(fd >= 0 && same_inode(fd, want));
        CHECK(!path_exists(host));
        safe_close(fd);
}

static void test_read_file_buffer(void) {
        char path[PATH_MAX], small[4], buf[64];

        snprintf(path, sizeof(path), "%s/rb", base);
        _cleanup_close_ int dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(dfd >= 0);
        CHECK(write_file_at(dfd, "rb", "12345", 0600) == 0);
        CHECK(read_file_buffer(path, buf, sizeof(buf)) == 5);
        CHECK_STREQ(buf, "12345");
        /* Cut to the buffer, still terminated. */
        CHECK(read_file_buffer(path, small, sizeof(small)) == 3);
        CHECK_STREQ(small, "123");
        snprintf(path, sizeof(path), "%s/rb-missing", base);
        CHECK(read_file_buffer(path, buf, sizeof(buf)) == -ENOENT);
}

static void test_write_read_file_at(void) {
        _cleanup_close_ int dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        char *buf = (char *) "untouched";
        size_t size = 4242;

        CHECK(dfd >= 0);
        CHECK(write_file_at(dfd, "w1", "hello", 0640) == 0);
        CHECK(fstatat(dfd, "w1", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
              (st.st_mode & 0777) == 0640 && st.st_size == 5);
        /* O_EXCL: an existing file is not overwritten. */
        CHECK(write_file_at(dfd, "w1", "other", 0640) == -EEXIST);

        CHECK(read_file_at(dfd, "w1", 1024, &buf, &size) == 0);
        CHECK_STREQ(buf, "hello");
        CHECK(size == 5);
        free(buf);

        /* Symlinks are not followed, dangling or not. */
        CHECK(symlinkat("w1", dfd, "wlink") == 0);
        CHECK(write_file_at(dfd, "wlink", "evil", 0644) == -EEXIST);
        CHECK(symlinkat("wtarget", dfd, "wdangle") == 0);
        CHECK(write_file_at(dfd, "wdangle", "evil", 0644) == -EEXIST);
        CHECK(fstatat(dfd, "wtarget", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);

        CHECK(write_file_at(dfd, "wempty", "", 0600) == 0);
        buf = NULL;
        CHECK(read_file_at(dfd, "wempty", 10, &buf, NULL) == 0);
        CHECK_STREQ(buf, "");
        free(buf);

        CHECK(write_file_at(dfd, "nodir/x", "data", 0600) == -ENOENT);
        CHECK(write_file_at(-1, "relative-name", "data", 0600) == -EBADF);

        /* Larger than one read buffer. */
        size_t big_n = 10000;
        char *big = malloc(big_n + 1);
        CHECK(big != NULL);
        if (!big)
                return;
        for (size_t i = 0; i < big_n; i++)
                big[i] = (char) ('a' + i % 26);
        big[big_n] = 0;
        CHECK(write_file_at(dfd, "big", big, 0644) == 0);

        buf = NULL;
        CHECK(read_file_at(dfd, "big", 1 << 20, &buf, &size) == 0);
        CHECK(size == big_n);
        CHECK(buf && strlen(buf) == big_n && memcmp(buf, big, big_n) == 0);
        free(buf);

        /* Exactly at the limit is fine; one byte over is -EFBIG. */
        buf = NULL;
        size = 4242;
        int r = read_file_at(dfd, "big", big_n, &buf, &size);
        if (r < 0)
                printf("# read_file_at(10000-byte file, max=10000) = %d\n", r);
        CHECK(r == 0);
        CHECK(r < 0 || (size == big_n && buf && memcmp(buf, big, big_n) == 0));
        if (r == 0)
                free(buf);

        buf = (char *) "untouched";
        size = 4242;
        CHECK(read_file_at(dfd, "big", big_n - 1, &buf, &size) == -EFBIG);
        CHECK(read_file_at(dfd, "big", 5000, &buf, &size) == -EFBIG);
        CHECK(streq(buf, "untouched") && size == 4242);

        /* Limits below the initial 4 KiB buffer are honoured too. */
        r = read_file_at(dfd, "big", 100, &buf, &size);
        if (r >= 0)
                printf("# read_file_at(10000-byte file, max=100) = %d, size %zu\n", r, size);
        CHECK(r == -EFBIG);
        if (r >= 0) {
                free(buf);
                buf = (char *) "untouched";
        }
        r = read_file_at(dfd, "w1", 4, &buf, &size); /* "hello" is 5 bytes */
        if (r >= 0)
                printf("# read_file_at(5-byte file, max=4) = %d, size %zu\n", r, size);
        CHECK(r == -EFBIG);
        if (r >= 0) {
                free(buf);
                buf = (char *) "untouched";
        }
        r = read_file_at(dfd, "w1", 5, &buf, &size);
        CHECK(r == 0 && size == 5);
        if (r == 0)
                free(buf);

        /* Exactly 4096 bytes, the initial buffer size, with a limit of 4096. */
        big[4096] = 0;
        CHECK(write_file_at(dfd, "page", big, 0644) == 0);
        buf = NULL;
        r = read_file_at(dfd, "page", 4096, &buf, &size);
        if (r < 0)
                printf("# read_file_at(4096-byte file, max=4096) = %d\n", r);
        CHECK(r == 0 && size == 4096);
        if (r == 0)
                free(buf);
        buf = NULL;
        CHECK(read_file_at(dfd, "page", 8192, &buf, &size) == 0 && size == 4096);
        free(buf);
        free(big);

        buf = (char *) "untouched";
        CHECK(read_file_at(dfd, "missing", 100, &buf, &size) == -ENOENT);
        CHECK(streq(buf, "untouched"));
}

static void test_loop_write(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        char buf[64] = {};

        CHECK(pipe2(p, O_CLOEXEC) == 0);
        CHECK(loop_write(p[1], "0123456789", 10) == 0);
        CHECK(loop_write(p[1], "", 0) == 0);
        CHECK(read(p[0], buf, sizeof(buf)) == 10);
        CHECK(memcmp(buf, "0123456789", 10) == 0);

        /* A megabyte into a file, in as many writes as it takes. */
        _cleanup_free_ char *path = strjoin(base, "/loop");
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        size_t n = 1 << 20;
        char *data = calloc(1, n);
        CHECK(fd >= 0 && data);
        if (data) {
                for (size_t i = 0; i < n; i++)
                        data[i] = (char) (i * 7);
                CHECK(loop_write(fd, data, n) == 0);
                struct stat st;
                CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t) n);
                _cleanup_close_ int rfd = open(path, O_RDONLY | O_CLOEXEC);
                char *back = malloc(n);
                CHECK(rfd >= 0 && back && read(rfd, back, n) == (ssize_t) n && memcmp(back, data, n) == 0);
                free(back);
        }
        free(data);

        /* Errors come back as -errno. */
        CHECK(loop_write(-1, "x", 1) == -EBADF);
        struct sigaction sa = { .sa_handler = SIG_IGN }, old;
        CHECK(sigaction(SIGPIPE, &sa, &old) == 0);
        p[0] = safe_close(p[0]);
        CHECK(loop_write(p[1], "x", 1) == -EPIPE);
        (void) sigaction(SIGPIPE, &old, NULL);

        /* Non-blocking pipe that fills up: -EAGAIN, not a busy loop. */
        _cleanup_close_pair_ int q[2] = { -EBADF, -EBADF };
        CHECK(pipe2(q, O_CLOEXEC | O_NONBLOCK) == 0);
        char *lots = calloc(1, 1 << 22);
        CHECK(lots && loop_write(q[1], lots, 1 << 22) == -EAGAIN);
        free(lots);
}

static void test_fd_move_to(void) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int target = 217;

        CHECK(fd >= 0);
        (void) close(target);
        CHECK(fd_move_to(fd, target) == target);
        CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
        int flags = fcntl(target, F_GETFD);
        CHECK(flags >= 0 && !(flags & FD_CLOEXEC));

        /* Moving onto itself just clears O_CLOEXEC. */
        CHECK(fcntl(target, F_SETFD, FD_CLOEXEC) == 0);
        CHECK(fd_move_to(target, target) == target);
        flags = fcntl(target, F_GETFD);
        CHECK(flags >= 0 && !(flags & FD_CLOEXEC));

        /* Replacing an open target. */
        int fd2 = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        CHECK(fd2 >= 0);
        CHECK(fd_move_to(fd2, target) == target);
        char c = 1;
        CHECK(read(target, &c, 1) == 1 && c == 0); /* /dev/zero now, not /dev/null */
        CHECK(fcntl(fd2, F_GETFD) < 0 && errno == EBADF);
        (void) close(target);

        CHECK(fd_move_to(-1, target) == -EBADF);
        CHECK(fd_move_to(target, target) == -EBADF);
        CHECK(fcntl(target, F_GETFD) < 0);
}

static void test_fd_set_nonblock(void) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };

        CHECK(pipe2(p, O_CLOEXEC) == 0);
        CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
        CHECK(fd_set_nonblock(p[0], true) == 0);
        CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
        char c;
        CHECK(read(p[0], &c, 1) < 0 && errno == EAGAIN);
        CHECK(fd_set_nonblock(p[0], true) == 0);
        CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
        CHECK(fd_set_nonblock(p[0], false) == 0);
        CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
        CHECK(fd_set_nonblock(-1, true) == -EBADF);
}

static void test_open_regular_in_root(void) {
        char dir[] = "/tmp/test-regular-XXXXXX", p[256];
        CHECK(mkdtemp(dir) != NULL);
        int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

        snprintf(p, sizeof(p), "%s/file", dir);
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(write(fd, "hello", 5) == 5);
        close(fd);
        snprintf(p, sizeof(p), "%s/fifo", dir);
        CHECK(mkfifo(p, 0644) == 0);
        snprintf(p, sizeof(p), "%s/link", dir);
        CHECK(symlink("/file", p) == 0); /* absolute: must resolve inside the root */

        fd = open_regular_in_root(root, "/file", 100);
        CHECK(fd >= 0);
        char buf[8] = {};
        CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 5);
        safe_close(fd);
        fd = open_regular_in_root(root, "/link", 100);
        CHECK(fd >= 0);
        safe_close(fd);
        /* A FIFO is never opened (that would block), only rejected. */
        CHECK(open_regular_in_root(root, "/fifo", 100) == -EBADMSG);
        CHECK(open_regular_in_root(root, "/", 100) == -EBADMSG);
        CHECK(open_regular_in_root(root, "/file", 4) == -EFBIG);
        CHECK(open_regular_in_root(root, "/missing", 100) == -ENOENT);

        close(root);
        snprintf(p, sizeof(p), "rm -rf '%s'", dir);
        CHECK(system(p) == 0);
}

/* Atomic replacement: the content changes, a symlink in the way is replaced rather than written
 * through, and no temporary file stays behind. */
static void test_write_file_atomic_at(void) {
        char dir[] = "/tmp/test-atomic-XXXXXX", p[256], victim[256], target[64];
        CHECK(mkdtemp(dir) != NULL);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *data = NULL;
        size_t size = 0;

        CHECK(write_file_atomic_at(dfd, "f", "one\n", 4, 0644) == 0);
        CHECK(read_file_at(dfd, "f", 100, &data, &size) == 0 && size == 4);
        CHECK_STREQ(data, "one\n");
        data = (free(data), NULL);
        /* Binary data with NULs is written with its size. */
        CHECK(write_file_atomic_at(dfd, "f", "t\0o", 3, 0600) == 0);
        CHECK(read_file_at(dfd, "f", 100, &data, &size) == 0 && size == 3 && memcmp(data, "t\0o", 3) == 0);
        data = (free(data), NULL);
        struct stat st;
        CHECK(fstatat(dfd, "f", &st, 0) == 0 && (st.st_mode & 0777) == 0600);

        snprintf(victim, sizeof(victim), "%s/victim", dir);
        CHECK(write_path(victim, "keep") == 0);
        CHECK(symlinkat(victim, dfd, "link") == 0);
        CHECK(write_file_atomic_at(dfd, "link", "new", 3, 0644) == 0);
        CHECK(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
        CHECK(read_file_at(AT_FDCWD, victim, 100, &data, NULL) == 0);
        CHECK_STREQ(data, "keep");
        data = (free(data), NULL);

        CHECK(symlink_atomic_at("first", dfd, "sl") == 0);
        CHECK(symlink_atomic_at("second", dfd, "sl") == 0);
        ssize_t n = readlinkat(dfd, "sl", target, sizeof(target) - 1);
        CHECK(n == 6 && (target[n] = 0, streq(target, "second")));
        /* Replaces a regular file too. */
        CHECK(symlink_atomic_at("third", dfd, "f") == 0);
        CHECK(fstatat(dfd, "f", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));

        /* A directory in the way cannot be replaced; the temporary file is cleaned up. */
        CHECK(mkdirat(dfd, "d", 0755) == 0);
        CHECK(write_file_atomic_at(dfd, "d", "x", 1, 0644) == -EISDIR);
        /* A very long name still gets a temporary name that fits. */
        char longname[251];
        memset(longname, 'l', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        CHECK(write_file_atomic_at(dfd, longname, "x", 1, 0644) == 0);

        DIR *d = opendir(dir);
        unsigned leftovers = 0;
        for (struct dirent *de; d && (de = readdir(d));)
                if (startswith(de->d_name, ".#"))
                        leftovers++;
        if (d)
                closedir(d);
        CHECK(leftovers == 0);

        snprintf(p, sizeof(p), "rm -rf '%s'", dir);
        CHECK(system(p) == 0);
}

int main(void) {
        test_open_regular_in_root();
        umask(022);
        test_write_file_atomic_at();
        int r = setup();
        CHECK(r == 0);
        if (r < 0) {
                printf("# setup failed: %s\n", strerror(-r));
                cleanup();
                return tap_finish();
        }
        printf("# tree %s, outside %s\n", tree, out);

        _cleanup_close_ int rootfd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(rootfd >= 0);

        test_fd_proc_path();
        test_open_in_root_escapes(rootfd);
        test_open_in_root_magiclinks();
        test_mkdir_p_in_root(rootfd);
        test_open_in_root_inside_target(rootfd);
        test_mount_point_in_root(rootfd);
        test_planted_symlinks(rootfd);
        test_mount_point_dangling_parent(rootfd);
        test_write_read_file_at();
        test_read_file_buffer();
        test_loop_write();
        test_fd_move_to();
        test_fd_set_nonblock();

        rootfd = safe_close(rootfd);
        cleanup();
        return tap_finish();
}
