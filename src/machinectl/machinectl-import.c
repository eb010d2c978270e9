/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* import-raw, import-tar, import-fs, export-raw, export-tar: between local files and the image
 * pool, done here (there is no importd), compressed or not by the file name's suffix (.gz, .xz,
 * .zst) through compress.c. What lands in the pool appears there at once and complete: it is
 * written under a hidden temporary name and renamed. Tar archives are packed and unpacked by
 * tar(1), which knows the format's corners (owners, xattrs, sparse files, hard links). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compress.h"
#include "fd-util.h"
#include "log.h"
#include "machinectl-bus.h"
#include "machinectl-output.h"
#include "machinectl.h"
#include "name-util.h"
#include "strv.h"

#define DEFAULT_POOL "/var/lib/machines"

typedef struct Progress {
        const char *what;
        uint64_t total;  /* 0: unknown */
        bool enabled;    /* stderr is a terminal and not -q */
} Progress;

static void progress_show(uint64_t done, void *userdata) {
        Progress *p = userdata;
        char a[32], b[32];
        if (!p->enabled)
                return;
        if (p->total > 0)
                fprintf(stderr, "\r%s: %3u%% %s of %s ", p->what, (unsigned) (done * 100 / p->total),
                        format_bytes(a, sizeof(a), done), format_bytes(b, sizeof(b), p->total));
        else
                fprintf(stderr, "\r%s: %s ", p->what, format_bytes(a, sizeof(a), done));
}

static void progress_end(const Progress *p) {
        if (p->enabled)
                fputs("\r\033[K", stderr);
}

/* The pool machined uses, else the default one. */
static char *pool_path(sd_bus *bus) {
        char *s = NULL;
        if (bus && sd_bus_get_property_string(bus, MACHINE1_SERVICE, MACHINE1_PATH, MACHINE1_MANAGER, "PoolPath",
                                              NULL, &s) >= 0 && !isempty(s))
                return s;
        free(s);
        return strdup(DEFAULT_POOL);
}

/* The name an import gets when none is given: the file's, without suffixes. */
static int import_name(const char *file, const char *given, char **ret) {
        if (given) {
                *ret = strdup(given);
        } else {
                const char *base = strrchr(file, '/');
                base = base ? base + 1 : file;
                char *n = compression_strip_suffix(base);
                size_t l = n ? strlen(n) : 0;
                for (const char *sfx = ".raw"; n && l > 4 && streq(n + l - 4, sfx); l -= 4)
                        n[l - 4] = '\0';
                for (const char *sfx = ".tar"; n && l > 4 && streq(n + l - 4, sfx); l -= 4)
                        n[l - 4] = '\0';
                *ret = n;
        }
        if (!*ret)
                return log_oom();
        if (!machine_name_is_valid(*ret))
                return log_error_errno(EINVAL, "Image name '%s' is not valid; give one as the last argument.", *ret);
        return 0;
}

static int pool_entry_exists(const char *pool, const char *name) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", pool, name);
        if (lstat(path, &st) >= 0)
                return 1;
        snprintf(path, sizeof(path), "%s/%s.raw", pool, name);
        return lstat(path, &st) >= 0;
}

static int open_input(const char *file, Progress *p) {
        int fd = streq(file, "-") ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3) : open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", file);
        struct stat st;
        if (fstat(fd, &st) >= 0 && S_ISREG(st.st_mode))
                p->total = (uint64_t) st.st_size;
        return fd;
}

/* Runs tar with args, its stdin (unpack) or stdout (pack) a pipe whose other end is returned. */
static int tar_start(char **args, bool unpack, pid_t *ret_pid, int *ret_fd) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create a pipe: %m");
        pid_t pid = fork();
        if (pid < 0) {
                safe_close(p[0]);
                safe_close(p[1]);
                return log_error_errno(errno, "Failed to fork: %m");
        }
        if (pid == 0) {
                if (dup2(unpack ? p[0] : p[1], unpack ? STDIN_FILENO : STDOUT_FILENO) < 0)
                        _exit(127);
                execvp("tar", args);
                _exit(127);
        }
        safe_close(unpack ? p[0] : p[1]);
        *ret_pid = pid;
        *ret_fd = unpack ? p[1] : p[0];
        return 0;
}

/* 0 when the child exited 0, else -EIO (its own stderr said why). */
static int wait_ok(pid_t pid) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int import_raw(const char *file, const char *pool, const char *name, const MachinectlConfig *c) {
        Progress p = { .what = "Importing", .enabled = isatty(STDERR_FILENO) && !c->quiet };
        _cleanup_close_ int in = open_input(file, &p);
        if (in < 0)
                return in;
        _cleanup_free_ char *tmp = NULL, *dest = NULL;
        if (asprintf(&tmp, "%s/.#%s.raw.XXXXXX", pool, name) < 0 || asprintf(&dest, "%s/%s.raw", pool, name) < 0)
                return log_oom();
        _cleanup_close_ int out = mkostemp(tmp, O_CLOEXEC);
        if (out < 0)
                return log_error_errno(errno, "Failed to create a file in %s: %m", pool);
        int r = compress_stream(compression_from_filename(file), true, in, out, progress_show, &p);
        progress_end(&p);
        if (r >= 0 && (fchmod(out, 0644) < 0 || fsync(out) < 0 || rename(tmp, dest) < 0))
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return log_error_errno(r, "Failed to import %s: %s", file,
                                       r == -EBADMSG ? "corrupt or truncated compressed data" : strerror(-r));
        }
        return 0;
}

static int import_tree(const char *file, bool fs, const char *pool, const char *name, const MachinectlConfig *c) {
        _cleanup_free_ char *tmp = NULL, *dest = NULL;
        if (asprintf(&tmp, "%s/.#%s.XXXXXX", pool, name) < 0 || asprintf(&dest, "%s/%s", pool, name) < 0)
                return log_oom();
        if (!mkdtemp(tmp))
                return log_error_errno(errno, "Failed to create a directory in %s: %m", pool);
        (void) chmod(tmp, 0755);

        int r;
        pid_t pid;
        if (fs) {
                _cleanup_free_ char *from = strjoin(file, "/.");
                if (!from)
                        return log_oom();
                char *args[] = { (char *) "cp", (char *) "-a", (char *) "--reflink=auto", (char *) "--", from, tmp, NULL };
                pid = fork();
                if (pid == 0) {
                        execvp("cp", args);
                        _exit(127);
                }
                r = pid < 0 ? log_error_errno(errno, "Failed to fork: %m") : wait_ok(pid);
                if (r == -EIO)
                        r = log_error_errno(r, "Failed to copy %s: cp failed.", file);
        } else {
                Progress p = { .what = "Importing", .enabled = isatty(STDERR_FILENO) && !c->quiet };
                _cleanup_close_ int in = open_input(file, &p), to_tar = -EBADF;
                char *args[] = { (char *) "tar", (char *) "--numeric-owner", (char *) "--xattrs",
                                 (char *) "--xattrs-include=*", (char *) "-xpf", (char *) "-", (char *) "-C", tmp, NULL };
                r = in < 0 ? in : tar_start(args, true, &pid, &to_tar);
                if (r >= 0) {
                        r = compress_stream(compression_from_filename(file), true, in, to_tar, progress_show, &p);
                        progress_end(&p);
                        to_tar = safe_close(to_tar);
                        int k = wait_ok(pid);
                        if (r < 0)
                                r = log_error_errno(r, "Failed to read %s: %s", file,
                                                    r == -EBADMSG ? "corrupt or truncated compressed data" : strerror(-r));
                        else if (k < 0)
                                r = log_error_errno(k, "Failed to unpack %s: tar failed.", file);
                }
        }
        if (r >= 0 && rename(tmp, dest) < 0)
                r = log_error_errno(errno, "Failed to move the image into place: %m");
        if (r < 0) {
                char *args[] = { (char *) "rm", (char *) "-rf", (char *) "--one-file-system", (char *) "--", tmp, NULL };
                pid = fork();
                if (pid == 0) {
                        execvp("rm", args);
                        _exit(127);
                }
                if (pid > 0)
                        (void) wait_ok(pid);
        }
        return r;
}

static int verb_import(sd_bus *bus, char **args, const MachinectlConfig *c) {
        const char *verb = args[0], *file = args[1];
        bool raw = streq(verb, "import-raw"), fs = streq(verb, "import-fs");
        _cleanup_free_ char *name = NULL, *pool = pool_path(bus);
        if (!pool)
                return log_oom();
        int r = import_name(file, args[2], &name);
        if (r < 0)
                return r;
        if (pool_entry_exists(pool, name))
                return log_error_errno(EEXIST, "Image '%s' already exists in %s.", name, pool);
        r = mkdir(pool, 0700) < 0 && errno != EEXIST ? -errno : 0;
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", pool);
        r = raw ? import_raw(file, pool, name, c) : import_tree(file, fs, pool, name, c);
        if (r >= 0 && !c->quiet)
                log_info("Imported %s as image '%s'.", file, name);
        return r < 0 ? r : 0;
}

int verb_import_raw(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return verb_import(bus, args, c);
}

int verb_import_tar(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return verb_import(bus, args, c);
}

int verb_import_fs(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return verb_import(bus, args, c);
}

static int open_output(const char *file) {
        if (streq(file, "-"))
                return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create %s: %m", file);
        return fd;
}

static int verb_export(sd_bus *bus, char **args, const MachinectlConfig *c) {
        const char *name = args[1], *file = args[2];
        bool raw = streq(args[0], "export-raw");
        _cleanup_free_ char *pool = pool_path(bus), *src = NULL;
        if (!pool)
                return log_oom();
        if (!machine_name_is_valid(name))
                return log_error_errno(EINVAL, "Invalid image name '%s'.", name);
        if (asprintf(&src, "%s/%s%s", pool, name, raw ? ".raw" : "") < 0)
                return log_oom();

        /* A running machine holds its image's lock exclusively: exporting it now would copy a
         * file system in the middle of being written. */
        _cleanup_close_ int lock = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (lock < 0)
                return log_error_errno(errno, errno == ENOENT ? "No image '%s' in %s." : "Failed to open image '%s' in %s: %m",
                                       name, pool);
        if (flock(lock, LOCK_SH | LOCK_NB) < 0)
                return log_error_errno(errno, errno == EWOULDBLOCK ? "Image '%s' is in use." : "Failed to lock image '%s': %m",
                                       name);
        _cleanup_close_ int out = open_output(file);
        if (out < 0)
                return out;

        Progress p = { .what = "Exporting", .enabled = isatty(STDERR_FILENO) && !c->quiet };
        int r, in = -EBADF;
        pid_t pid = 0;
        if (raw) {
                struct stat st;
                if (fstat(lock, &st) >= 0)
                        p.total = (uint64_t) st.st_size;
                in = lock;
                r = 0;
        } else {
                char *targs[] = { (char *) "tar", (char *) "--numeric-owner", (char *) "--xattrs", (char *) "--sparse",
                                  (char *) "-cpf", (char *) "-", (char *) "-C", src, (char *) ".", NULL };
                r = tar_start(targs, false, &pid, &in);
        }
        if (r >= 0)
                r = compress_stream(compression_from_filename(file), false, in, out, progress_show, &p);
        progress_end(&p);
        if (!raw && in >= 0)
                safe_close(in);
        if (pid > 0) {
                int k = wait_ok(pid);
                r = r < 0 ? r : k;
        }
        if (r >= 0 && fsync(out) < 0 && errno != EINVAL)
                r = -errno;
        if (r < 0) {
                if (!streq(file, "-"))
                        (void) unlink(file);
                return log_error_errno(r, "Failed to export image '%s' to %s: %s", name, file,
                                       r == -EIO && !raw ? "tar failed" : strerror(-r));
        }
        return 0;
}

int verb_export_raw(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return verb_export(bus, args, c);
}

int verb_export_tar(sd_bus *bus, char **args, const MachinectlConfig *c) {
        return verb_export(bus, args, c);
}
