/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * berth-test-helper: a static multi-call binary that integration tests copy into container trees
 * (as /usr/bin/berth-test-helper) to report facts from inside a container. It links nothing but
 * libc and never uses NSS, so it runs in a busybox tree or an empty one.
 *
 * Invocation: "berth-test-helper SUBCOMMAND ARGS..." or, through a symlink, "SUBCOMMAND ARGS...".
 * Failures of file operations print "error: <ERRNO NAME>" on stderr and exit 2, so tests can
 * assert on the reason (EROFS vs EACCES) instead of on localized strerror() text.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "escape-probes.h"

#define HELPER_NAME "berth-test-helper"
#define EXIT_USAGE 64
#define EXIT_OPERROR 2
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define _unused_ __attribute__((unused))
/* Set only across the exec at the end of "hang"; see cmd_hang(). */
#define HANG_READY_ENV "BERTH_TEST_HELPER_HANG_READY"

extern char **environ;
static const char *arg0 = HELPER_NAME;

/* ---- names for errno values and signals ---- */

static const struct { int num; const char *name; } errno_names[] = {
        { EPERM, "EPERM" },   { ENOENT, "ENOENT" },   { ESRCH, "ESRCH" },     { EINTR, "EINTR" },
        { EIO, "EIO" },       { ENXIO, "ENXIO" },     { E2BIG, "E2BIG" },     { ENOEXEC, "ENOEXEC" },
        { EBADF, "EBADF" },   { ECHILD, "ECHILD" },   { EAGAIN, "EAGAIN" },   { ENOMEM, "ENOMEM" },
        { EACCES, "EACCES" }, { EFAULT, "EFAULT" },   { EBUSY, "EBUSY" },     { EEXIST, "EEXIST" },
        { EXDEV, "EXDEV" },   { ENODEV, "ENODEV" },   { ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" },
        { EINVAL, "EINVAL" }, { ENFILE, "ENFILE" },   { EMFILE, "EMFILE" },   { ENOTTY, "ENOTTY" },
        { ETXTBSY, "ETXTBSY" }, { EFBIG, "EFBIG" },   { ENOSPC, "ENOSPC" },   { ESPIPE, "ESPIPE" },
        { EROFS, "EROFS" },   { EMLINK, "EMLINK" },   { EPIPE, "EPIPE" },     { ERANGE, "ERANGE" },
        { ENAMETOOLONG, "ENAMETOOLONG" }, { ENOSYS, "ENOSYS" }, { ENOTEMPTY, "ENOTEMPTY" },
        { ELOOP, "ELOOP" },   { EOVERFLOW, "EOVERFLOW" }, { EOPNOTSUPP, "EOPNOTSUPP" },
        { EDQUOT, "EDQUOT" }, { ESTALE, "ESTALE" },   { ENOMEDIUM, "ENOMEDIUM" }, { EUCLEAN, "EUCLEAN" },
};

static const struct { int num; const char *name; } signal_names[] = {
        { SIGHUP, "HUP" },   { SIGINT, "INT" },     { SIGQUIT, "QUIT" },     { SIGILL, "ILL" },
        { SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" },   { SIGBUS, "BUS" },       { SIGFPE, "FPE" },
        { SIGKILL, "KILL" }, { SIGUSR1, "USR1" },   { SIGSEGV, "SEGV" },     { SIGUSR2, "USR2" },
        { SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" },   { SIGTERM, "TERM" },     { SIGCHLD, "CHLD" },
        { SIGCONT, "CONT" }, { SIGSTOP, "STOP" },   { SIGTSTP, "TSTP" },     { SIGTTIN, "TTIN" },
        { SIGTTOU, "TTOU" }, { SIGURG, "URG" },     { SIGXCPU, "XCPU" },     { SIGXFSZ, "XFSZ" },
        { SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" }, { SIGWINCH, "WINCH" }, { SIGIO, "IO" },
        { SIGPWR, "PWR" },   { SIGSYS, "SYS" },
};

static int fail_errno(int err) {
        for (size_t i = 0; i < ELEMENTSOF(errno_names); i++)
                if (errno_names[i].num == err) {
                        fprintf(stderr, "error: %s\n", errno_names[i].name);
                        return EXIT_OPERROR;
                }
        fprintf(stderr, "error: %d\n", err);
        return EXIT_OPERROR;
}

static int invalid_argument(char **args) {
        fputs("invalid argument(s):", stderr);
        for (char **a = args; *a; a++)
                fprintf(stderr, " '%s'", *a);
        fputc('\n', stderr);
        return EXIT_USAGE;
}

static bool parse_long(const char *s, long *ret) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
                return false;
        *ret = v;
        return true;
}

/* Accepts "15", "TERM", "SIGTERM", "sigterm", "RTMIN+3" (SIGRTMIN+3 halts a systemd PID 1). */
static int signal_from_string(const char *s) {
        long v;
        if (parse_long(s, &v))
                return v > 0 && v < NSIG ? (int) v : -1;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
                if (strcasecmp(s, signal_names[i].name) == 0)
                        return signal_names[i].num;
        if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
                bool min = strncasecmp(s, "RTMIN", 5) == 0;
                long off = 0;
                if (s[5] != '\0' && (!parse_long(s + 5, &off) || (min ? off < 0 : off > 0)))
                        return -1;
                int sig = (min ? SIGRTMIN : SIGRTMAX) + (int) off;
                return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
        }
        return -1;
}

static void signal_to_string(int sig, char *buf, size_t size) {
        for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
                if (signal_names[i].num == sig) {
                        snprintf(buf, size, "SIG%s", signal_names[i].name);
                        return;
                }
        if (sig >= SIGRTMIN && sig <= SIGRTMAX)
                snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
        else
                snprintf(buf, size, "SIG%d", sig);
}

/* ---- JSON output ---- */

/* Length of the valid UTF-8 sequence at p, or 0; rejects overlongs, surrogates and > U+10FFFF. */
static size_t utf8_sequence_len(const unsigned char *p, size_t n) {
        size_t len;
        uint32_t cp;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                len = 2, cp = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                len = 3, cp = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                len = 4, cp = p[0] & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
                return 0;
        if (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
                return 0;
        return len;
}

/* Bytes that are not valid UTF-8 become \u00XX so that the output is always parseable JSON. */
static void json_string_n(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;
        putchar('"');
        for (size_t i = 0; i < n;) {
                unsigned char c = p[i];
                size_t len;
                if (c == '"' || c == '\\') {
                        printf("\\%c", c), i++;
                } else if (c < 0x20 || c == 0x7f) {
                        printf("\\u%04x", c), i++;
                } else if (c < 0x80) {
                        putchar(c), i++;
                } else if ((len = utf8_sequence_len(p + i, n - i)) > 0) {
                        fwrite(p + i, 1, len, stdout), i += len;
                } else {
                        printf("\\u%04x", c), i++;
                }
        }
        putchar('"');
}

static void json_string(const char *s) {
        if (s)
                json_string_n(s, strlen(s));
        else
                fputs("null", stdout);
}

/* Emits the separating comma unless this is the first member of the enclosing object/array. */
static void json_sep(bool *first) {
        if (!*first)
                putchar(',');
        *first = false;
}

static void json_key(bool *first, const char *key) {
        json_sep(first);
        json_string(key);
        putchar(':');
}

/* ---- small file helpers ---- */

/* Reads a whole file into a NUL-terminated buffer; /proc files report size 0, so read until EOF. */
static int read_full_file(const char *path, char **ret, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        char *buf = NULL, chunk[4096];
        size_t len = 0, k;
        FILE *m = open_memstream(&buf, &len);
        if (!m) {
                fclose(f);
                return -ENOMEM;
        }
        while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
                fwrite(chunk, 1, k, m);
        int r = ferror(f) ? -errno : 0;
        fclose(f);
        if (fclose(m) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        return 0;
}

static int compare_ifaces(const void *a, const void *b) {
        return strcmp(((const struct if_nameindex *) a)->if_name, ((const struct if_nameindex *) b)->if_name);
}

/* Value of a "Key:\tvalue" line in /proc/self/status, copied into buf; false if absent. */
static bool proc_status_field(const char *status, const char *key, char *buf, size_t size) {
        size_t klen = strlen(key);
        for (const char *line = status; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                if (strncmp(line, key, klen) != 0 || line[klen] != ':')
                        continue;
                const char *v = line + klen + 1;
                v += strspn(v, " \t");
                size_t n = strcspn(v, "\n");
                if (n >= size)
                        n = size - 1;
                memcpy(buf, v, n);
                buf[n] = '\0';
                return true;
        }
        return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;
        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
}

/* ---- report ---- */

static void report_caps(bool *first, const char *status) {
        static const char *const keys[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
        char v[64];
        bool f = true;
        json_key(first, "caps");
        putchar('{');
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_key(&f, keys[i]);
                json_string(status && proc_status_field(status, keys[i], v, sizeof v) ? v : NULL);
        }
        putchar('}');
        json_key(first, "no_new_privs");
        if (status && proc_status_field(status, "NoNewPrivs", v, sizeof v))
                printf("%d", atoi(v));
        else
                fputs("null", stdout);
}

static void report_one_mount(char *line) {
        char *fields[64];
        size_t n = 0, sep = 0;
        /* strsep, not strtok: an empty source field must not shift the fields after it. */
        for (char *tok; n < ELEMENTSOF(fields) && (tok = strsep(&line, " ")) != NULL;)
                fields[n++] = tok;
        for (size_t i = 6; i < n; i++)
                if (strcmp(fields[i], "-") == 0) {
                        sep = i;
                        break;
                }
        if (sep == 0 || n < sep + 4)
                return;
        /* Optional fields ("shared:1 master:2") are never escaped; rejoin them in place. */
        for (size_t i = 6; i + 1 < sep; i++)
                fields[i][strlen(fields[i])] = ' ';
        for (size_t i = 0; i < n; i++)
                unescape_octal(fields[i]);

        bool f = true;
        putchar('{');
        json_key(&f, "mount_id"), printf("%ld", strtol(fields[0], NULL, 10));
        json_key(&f, "parent_id"), printf("%ld", strtol(fields[1], NULL, 10));
        json_key(&f, "dev"), json_string(fields[2]);
        json_key(&f, "root"), json_string(fields[3]);
        json_key(&f, "mount_point"), json_string(fields[4]);
        json_key(&f, "options"), json_string(fields[5]);
        json_key(&f, "optional"), json_string(sep > 6 ? fields[6] : "");
        json_key(&f, "fstype"), json_string(fields[sep + 1]);
        json_key(&f, "source"), json_string(fields[sep + 2]);
        json_key(&f, "super_options"), json_string(fields[sep + 3]);
        putchar('}');
}

static void report_lines(bool *first, const char *key, const char *path, bool mountinfo) {
        char *buf, *save = NULL;
        bool f = true;
        json_key(first, key);
        putchar('[');
        if (read_full_file(path, &buf, NULL) >= 0) {
                for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                        json_sep(&f);
                        if (mountinfo)
                                report_one_mount(line);
                        else
                                json_string(line);
                }
                free(buf);
        }
        putchar(']');
}

static void report_namespaces(bool *first) {
        static const char *const names[] = { "cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts" };
        bool f = true;
        json_key(first, "ns");
        putchar('{');
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char path[64];
                struct stat st;
                snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
                json_key(&f, names[i]);
                if (stat(path, &st) < 0)
                        fputs("null", stdout);
                else
                        printf("%llu", (unsigned long long) st.st_ino);
        }
        putchar('}');
}

/* Field 7 of /proc/self/stat; comm (field 2) may contain spaces, so parse after its last ')'. */
static void report_ctty_dev(bool *first) {
        char *buf;
        unsigned long tty_nr = 0;
        json_key(first, "ctty_dev");
        if (read_full_file("/proc/self/stat", &buf, NULL) < 0) {
                fputs("null", stdout);
                return;
        }
        char *p = strrchr(buf, ')');
        if (p && sscanf(p + 1, " %*c %*d %*d %*d %lu", &tty_nr) == 1 && tty_nr != 0)
                printf("\"%u:%u\"", major(tty_nr), minor(tty_nr));
        else
                fputs("null", stdout);
        free(buf);
}

static void report_tty(bool *first) {
        bool f = true;
        json_key(first, "tty");
        putchar('{');
        json_key(&f, "stdin"), json_string(ttyname(0));
        json_key(&f, "stdout"), json_string(ttyname(1));
        json_key(&f, "stderr"), json_string(ttyname(2));
        json_key(&f, "stdin_isatty"), fputs(isatty(0) ? "true" : "false", stdout);
        json_key(&f, "stdout_isatty"), fputs(isatty(1) ? "true" : "false", stdout);
        /* O_NOCTTY: merely looking must not make a tty our controlling one. */
        int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        json_key(&f, "ctty");
        if (fd < 0)
                fputs("null", stdout);
        else {
                const char *name = ttyname(fd);
                json_string(name ? name : "/dev/tty");
                close(fd);
        }
        report_ctty_dev(&f);
        putchar('}');
}

static int cmd_report(_unused_ char **args) {
        bool first = true;
        struct utsname u;
        char cwd[PATH_MAX], *status = NULL;

        putchar('{');
        json_key(&first, "pid"), printf("%d", (int) getpid());
        json_key(&first, "ppid"), printf("%d", (int) getppid());
        json_key(&first, "sid"), printf("%d", (int) getsid(0));
        json_key(&first, "pgid"), printf("%d", (int) getpgid(0));
        json_key(&first, "hostname"), json_string(uname(&u) >= 0 ? u.nodename : NULL);
        json_key(&first, "uid"), printf("%u", (unsigned) getuid());
        json_key(&first, "euid"), printf("%u", (unsigned) geteuid());
        json_key(&first, "gid"), printf("%u", (unsigned) getgid());
        json_key(&first, "egid"), printf("%u", (unsigned) getegid());

        json_key(&first, "groups");
        putchar('[');
        int ng = getgroups(0, NULL);
        gid_t *groups = ng > 0 ? calloc((size_t) ng, sizeof(gid_t)) : NULL;
        if (groups && (ng = getgroups(ng, groups)) > 0)
                for (int i = 0; i < ng; i++)
                        printf("%s%u", i > 0 ? "," : "", (unsigned) groups[i]);
        free(groups);
        putchar(']');

        if (read_full_file("/proc/self/status", &status, NULL) < 0)
                status = NULL;
        report_caps(&first, status);
        free(status);

        report_lines(&first, "mounts", "/proc/self/mountinfo", true);
        report_lines(&first, "cgroup", "/proc/self/cgroup", false);

        bool f = true;
        json_key(&first, "env");
        putchar('{');
        for (char **e = environ; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                json_sep(&f);
                json_string_n(*e, eq ? (size_t) (eq - *e) : strlen(*e));
                putchar(':');
                json_string(eq ? eq + 1 : "");
        }
        putchar('}');

        report_namespaces(&first);
        report_tty(&first);
        json_key(&first, "cwd"), json_string(getcwd(cwd, sizeof cwd));
        mode_t m = umask(0);
        umask(m);
        json_key(&first, "umask"), printf("%u", (unsigned) m);
        json_key(&first, "exe_argv0"), json_string(arg0);
        puts("}");
        return 0;
}

/* ---- simple queries ---- */

static int cmd_pid(_unused_ char **args) {
        printf("%d\n", (int) getpid());
        return 0;
}

static int cmd_hostname(_unused_ char **args) {
        struct utsname u;
        if (uname(&u) < 0)
                return fail_errno(errno);
        puts(u.nodename);
        return 0;
}

static int cmd_cwd(_unused_ char **args) {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
                return fail_errno(errno);
        puts(cwd);
        return 0;
}

static int cmd_echo(char **args) {
        for (char **a = args; *a; a++)
                printf("%s%s", a > args ? " " : "", *a);
        putchar('\n');
        return 0;
}

static int cmd_tty(_unused_ char **args) {
        const char *name = ttyname(0);
        int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        printf("stdin=%s ctty=%s\n", name ? name : "none", fd >= 0 ? "yes" : "no");
        if (fd >= 0)
                close(fd);
        return 0;
}

static int cmd_winsize(_unused_ char **args) {
        struct winsize ws;
        if (ioctl(0, TIOCGWINSZ, &ws) < 0)
                return fail_errno(errno);
        printf("%u %u\n", ws.ws_row, ws.ws_col);
        return 0;
}

static int cmd_read_line(_unused_ char **args) {
        char *line = NULL;
        size_t size = 0;
        ssize_t n = getline(&line, &size, stdin);
        if (n < 0) {
                free(line);
                puts("got EOF");
                return 3;
        }
        if (n > 0 && line[n - 1] == '\n')
                line[--n] = '\0';
        printf("got: %s\n", line);
        free(line);
        return 0;
}

static int cmd_ifaces(_unused_ char **args) {
        /* if_nameindex() asks netlink, so it reflects our network namespace even if /sys does not. */
        struct if_nameindex *ifs = if_nameindex();
        if (!ifs)
                return fail_errno(errno);
        size_t n = 0;
        while (ifs[n].if_index != 0)
                n++;
        qsort(ifs, n, sizeof(ifs[0]), compare_ifaces);
        int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        for (size_t i = 0; i < n; i++) {
                struct ifreq ifr = {};
                snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifs[i].if_name);
                bool up = sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &ifr) >= 0 && (ifr.ifr_flags & IFF_UP);
                printf("%s %s\n", ifs[i].if_name, up ? "up" : "down");
        }
        if (sock >= 0)
                close(sock);
        if_freenameindex(ifs);
        return 0;
}

/* ---- file operations (error convention: "error: ENAME" on stderr, exit 2) ---- */

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k, n -= (size_t) k;
        }
        return 0;
}

static int cmd_write(char **args) {
        int fd = open(args[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
                return fail_errno(errno);
        int r = write_all(fd, args[1], strlen(args[1]));
        /* close() reports deferred errors (EDQUOT, ENOSPC on network filesystems). */
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r < 0)
                return fail_errno(-r);
        puts("ok");
        return 0;
}

static int cmd_mkdir(char **args) {
        if (mkdir(args[0], 0755) < 0)
                return fail_errno(errno);
        puts("ok");
        return 0;
}

static int cmd_cat(char **args) {
        char *buf;
        size_t len;
        int r = read_full_file(args[0], &buf, &len);
        if (r < 0)
                return fail_errno(-r);
        fwrite(buf, 1, len, stdout);
        free(buf);
        return 0;
}

static int filter_dots(const struct dirent *de) {
        return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

/* We never call setlocale(), so alphasort()'s strcoll() is plain byte order. */
static int cmd_ls(char **args) {
        struct dirent **entries;
        int n = scandir(args[0], &entries, filter_dots, alphasort);
        if (n < 0)
                return fail_errno(errno);
        for (int i = 0; i < n; i++) {
                puts(entries[i]->d_name);
                free(entries[i]);
        }
        free(entries);
        return 0;
}

static int cmd_stat(char **args) {
        struct stat st;
        if (lstat(args[0], &st) < 0)
                return fail_errno(errno);
        const char *type = S_ISCHR(st.st_mode) ? "chr" : S_ISBLK(st.st_mode) ? "blk" :
                           S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "reg" :
                           S_ISLNK(st.st_mode) ? "lnk" : S_ISFIFO(st.st_mode) ? "fifo" :
                           S_ISSOCK(st.st_mode) ? "sock" : "unknown";
        char target[PATH_MAX];
        ssize_t tl = S_ISLNK(st.st_mode) ? readlink(args[0], target, sizeof target - 1) : -1;
        if (tl >= 0)
                target[tl] = '\0';
        printf("{\"type\":\"%s\",\"mode\":%u,\"uid\":%u,\"gid\":%u,\"major\":%u,\"minor\":%u,\"target\":",
               type, (unsigned) (st.st_mode & 07777), (unsigned) st.st_uid, (unsigned) st.st_gid,
               major(st.st_rdev), minor(st.st_rdev));
        json_string(tl >= 0 ? target : NULL);
        puts("}");
        return 0;
}

/* ---- processes and signals ---- */

static void sleep_seconds(double secs) {
        struct timespec ts = { .tv_sec = (time_t) secs, .tv_nsec = (long) ((secs - (double) (time_t) secs) * 1e9) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static _Noreturn void pause_forever(void) {
        for (;;)
                pause();
}

static int cmd_exit(char **args) {
        long code;
        if (!parse_long(args[0], &code))
                return invalid_argument(args);
        exit((int) code);
}

static int cmd_sleep(char **args) {
        char *end;
        double secs = strtod(args[0], &end);
        if (end == args[0] || *end != '\0' || !(secs >= 0) || secs > 1e9)
                return invalid_argument(args);
        sleep_seconds(secs);
        return 0;
}

/* Extra arguments are ignored: "hang" passes a token purely to make it visible in /proc/PID/cmdline. */
static int cmd_sleep_forever(_unused_ char **args) {
        if (getenv(HANG_READY_ENV)) {
                puts("ready");
                fflush(stdout);
        }
        pause_forever();
}

static void exec_sleep_forever(const char *token) {
        char *args[] = { (char *) HELPER_NAME, (char *) "sleep-forever", (char *) token, NULL };
        execv("/proc/self/exe", args);
        /* /proc may not be mounted in the tree under test. */
        execv("/usr/bin/" HELPER_NAME, args);
}

/*
 * "ready" must mean that every process carries TOKEN in its cmdline, so that a test may immediately
 * scan /proc. A CLOEXEC pipe tells us when all children have exec'd; the parent's own "ready" is
 * printed by the re-exec'd image (told so through HANG_READY_ENV), i.e. only after its exec too.
 */
static int cmd_hang(char **args) {
        long n;
        int pipefd[2];
        if (!parse_long(args[1], &n) || n < 0)
                return invalid_argument(args);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return fail_errno(errno);
        fflush(stdout);
        for (long i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0)
                        return fail_errno(errno);
                if (pid == 0) {
                        exec_sleep_forever(args[0]);
                        _exit(127);
                }
        }
        close(pipefd[1]);
        char c;
        while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
                ;
        close(pipefd[0]);

        setenv(HANG_READY_ENV, "1", 1);
        exec_sleep_forever(args[0]);
        return fail_errno(errno);
}

static int cmd_signal(char **args) {
        int sig = signal_from_string(args[0]);
        if (sig < 0)
                return invalid_argument(args);
        fflush(stdout);
        if (kill(getpid(), sig) < 0)
                return fail_errno(errno);
        sleep_seconds(1);
        return 99;
}

static char trap_message[64];
static int trap_exit_code;

static void trap_handler(_unused_ int sig) {
        /* Only async-signal-safe calls here; the message was formatted before installing us. */
        ssize_t k = write(STDOUT_FILENO, trap_message, strlen(trap_message));
        (void) k;
        _exit(trap_exit_code);
}

static int cmd_trap(char **args) {
        int sig = signal_from_string(args[0]);
        long code;
        if (sig < 0 || !parse_long(args[1], &code))
                return invalid_argument(args);
        char name[32];
        signal_to_string(sig, name, sizeof name);
        snprintf(trap_message, sizeof trap_message, "caught %s\n", name);
        trap_exit_code = (int) code;
        struct sigaction sa = { .sa_handler = trap_handler };
        sigemptyset(&sa.sa_mask);
        if (sigaction(sig, &sa, NULL) < 0)
                return fail_errno(errno);
        puts("ready");
        fflush(stdout);
        pause_forever();
}

static int cmd_ignore(char **args) {
        for (char **a = args; *a; a++) {
                int sig = signal_from_string(*a);
                if (sig < 0)
                        return invalid_argument(args);
                if (signal(sig, SIG_IGN) == SIG_ERR)
                        return fail_errno(errno);
        }
        puts("ready");
        fflush(stdout);
        pause_forever();
}

static int cmd_fork_count(char **args) {
        long n, k = 0;
        if (!parse_long(args[0], &n) || n < 0)
                return invalid_argument(args);
        pid_t *pids = calloc((size_t) n + 1, sizeof(pid_t));
        if (!pids)
                return fail_errno(ENOMEM);
        pid_t parent = getpid();
        fflush(stdout);
        /* Stop at the first failure: that is the limit (pids.max, RLIMIT_NPROC) being measured. */
        for (; k < n; k++) {
                pid_t pid = fork();
                if (pid < 0)
                        break;
                if (pid == 0) {
                        /* Children must not outlive us, even if we are SIGKILLed; recheck for the race. */
                        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                                _exit(1);
                        sleep_seconds(30);
                        _exit(0);
                }
                pids[k] = pid;
        }
        printf("forked=%ld\n", k);
        fflush(stdout);
        for (long i = 0; i < k; i++)
                kill(pids[i], SIGKILL);
        for (long i = 0; i < k; i++)
                while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
                        ;
        free(pids);
        return 0;
}

/* ---- dispatch ---- */

static const struct {
        const char *name;
        int (*run)(char **args);
        int min_args, max_args; /* not counting the subcommand itself; -1 = unbounded */
        const char *usage;
} commands[] = {
        { "report", cmd_report, 0, 0, "" },
        { "pid", cmd_pid, 0, 0, "" },
        { "hostname", cmd_hostname, 0, 0, "" },
        { "cwd", cmd_cwd, 0, 0, "" },
        { "exit", cmd_exit, 1, 1, "N" },
        { "signal", cmd_signal, 1, 1, "SIG" },
        { "sleep", cmd_sleep, 1, 1, "SECS" },
        { "sleep-forever", cmd_sleep_forever, 0, -1, "[IGNORED...]" },
        { "hang", cmd_hang, 2, 2, "TOKEN N" },
        { "trap", cmd_trap, 2, 2, "SIG CODE" },
        { "ignore", cmd_ignore, 1, -1, "SIG..." },
        { "write", cmd_write, 2, 2, "PATH TEXT" },
        { "mkdir", cmd_mkdir, 1, 1, "PATH" },
        { "cat", cmd_cat, 1, 1, "PATH" },
        { "ls", cmd_ls, 1, 1, "PATH" },
        { "stat", cmd_stat, 1, 1, "PATH" },
        { "tty", cmd_tty, 0, 0, "" },
        { "winsize", cmd_winsize, 0, 0, "" },
        { "read-line", cmd_read_line, 0, 0, "" },
        { "fork-count", cmd_fork_count, 1, 1, "N" },
        { "echo", cmd_echo, 0, -1, "ARGS..." },
        { "ifaces", cmd_ifaces, 0, 0, "" },
        { "escape-fds", cmd_escape_fds, 1, 1, "MARKER-NAME" },
        { "poke-pid1-fds", cmd_poke_pid1_fds, 1, 1, "TEXT" },
        { "syscalls", cmd_syscalls, 0, 0, "" },
        { "cgroup-handle", cmd_cgroup_handle, 1, 1, "CGROUP-MOUNT" },
        { "keys", cmd_keys, 2, 2, "SECRET-DESC PLANT-DESC" },
        { "mknod-open", cmd_mknod_open, 4, 4, "PATH b|c MAJOR MINOR" },
        { "try-open", cmd_try_open, 2, 2, "PATH r|w|rw" },
        { "try-mount", cmd_try_mount, 4, 4, "SOURCE TARGET FSTYPE|- rw|ro|remount-rw|bind-remount-rw" },
        { "compat-syscalls", cmd_compat_syscalls, 0, 0, "" },
};

static int usage(void) {
        fprintf(stderr, "usage: " HELPER_NAME " SUBCOMMAND [ARGS...]  (or via a symlink named SUBCOMMAND)\n"
                        "subcommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(stderr, "  %s %s\n", commands[i].name, commands[i].usage);
        return EXIT_USAGE;
}

int main(int argc, char **argv) {
        if (argc < 1)
                return usage();
        arg0 = argv[0];
        const char *name = strrchr(argv[0], '/');
        name = name ? name + 1 : argv[0];
        if (strcmp(name, HELPER_NAME) == 0) {
                if (argc < 2)
                        return usage();
                name = argv[1];
                argc--, argv++;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (strcmp(name, commands[i].name) != 0)
                        continue;
                int nargs = argc - 1;
                if (nargs < commands[i].min_args || (commands[i].max_args >= 0 && nargs > commands[i].max_args)) {
                        fprintf(stderr, "usage: %s %s\n", commands[i].name, commands[i].usage);
                        return EXIT_USAGE;
                }
                int r = commands[i].run(argv + 1);
                /* A failed flush (EPIPE, ENOSPC) must not look like success to the test. */
                if (fflush(stdout) != 0 && r == 0)
                        r = EXIT_OPERROR;
                return r;
        }
        fprintf(stderr, "unknown subcommand: %s\n", name);
        return usage();
}
