/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Break-out attempts for tests/integration/test_isolation.py, run inside a container. Each prints
 * one JSON object of attempt -> errno (0: it worked); the test judges from the host what got out. */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "escape-probes.h"

static bool first;

static void out_begin(void) {
        first = true;
        putchar('{');
}

static void out_int(const char *key, long v) {
        printf("%s\"%s\":%ld", first ? "" : ",", key, v);
        first = false;
}

static void out_end(void) {
        puts("}");
}

static long err_of(long r) {
        return r < 0 ? errno : 0;
}

/* Every descriptor we inherited: create a file through it, setns() into it. */
int cmd_escape_fds(char **args) {
        out_begin();
        for (int fd = 3; fd < 1024; fd++) {
                if (fcntl(fd, F_GETFD) < 0)
                        continue;
                char key[32];
                snprintf(key, sizeof key, "open_fd_%d", fd);
                out_int(key, 0);
                snprintf(key, sizeof key, "openat_%d", fd);
                int f = openat(fd, args[0], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                out_int(key, err_of(f));
                if (f >= 0)
                        close(f);
                snprintf(key, sizeof key, "setns_%d", fd);
                out_int(key, err_of(setns(fd, 0)));
        }
        out_end();
        return 0;
}

/* PID 2 under the stub init: whatever PID 1 holds, write TEXT to it and push it as input. */
int cmd_poke_pid1_fds(char **args) {
        out_begin();
        DIR *d = opendir("/proc/1/fd");
        out_int("opendir", d ? 0 : errno);
        for (struct dirent *de; d && (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                char p[300], key[300];
                snprintf(p, sizeof p, "/proc/1/fd/%s", de->d_name);
                int fd = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC);
                snprintf(key, sizeof key, "open_%s", de->d_name);
                out_int(key, err_of(fd));
                if (fd < 0)
                        continue;
                bool is_tty = isatty(fd);
                snprintf(key, sizeof key, "tty_%s", de->d_name);
                out_int(key, is_tty);
                if (is_tty) {
                        long e = 0;
                        for (const char *c = args[0]; *c && !e; c++)
                                e = err_of(ioctl(fd, TIOCSTI, c));
                        snprintf(key, sizeof key, "tiocsti_%s", de->d_name);
                        out_int(key, e);
                }
                snprintf(key, sizeof key, "write_%s", de->d_name);
                out_int(key, err_of(write(fd, args[0], strlen(args[0]))));
                close(fd);
        }
        if (d)
                closedir(d);
        out_end();
        return 0;
}

/* System calls a container must not reach, with arguments that do nothing when allowed. */
int cmd_syscalls(char **args) {
        out_begin();
        out_int("swapon", err_of(swapon("/nonexistent-swap", 0)));
        out_int("swapoff", err_of(swapoff("/nonexistent-swap")));
        union bpf_attr a = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1 };
        long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
        out_int("bpf", err_of(fd));
        if (fd >= 0)
                close((int) fd);
        struct perf_event_attr pe = { .type = PERF_TYPE_SOFTWARE, .size = sizeof pe, .config = PERF_COUNT_SW_CPU_CLOCK, .disabled = 1 };
        fd = syscall(SYS_perf_event_open, &pe, -1, 0, -1, 0);
        out_int("perf_event_open", err_of(fd));
        if (fd >= 0)
                close((int) fd);
        out_int("kexec_load", err_of(syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL)));
        out_int("kexec_file_load", err_of(syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0xdead0000UL)));
        out_int("init_module", err_of(syscall(SYS_init_module, NULL, 0, "")));
        out_int("finit_module", err_of(syscall(SYS_finit_module, -1, "", 0)));
        out_int("delete_module", err_of(syscall(SYS_delete_module, "berth-no-such-module", 0)));
        struct { unsigned int bytes; int type; unsigned char f[8]; } h = { .bytes = 8, .type = 1 };
        out_int("open_by_handle_at", err_of(syscall(SYS_open_by_handle_at, AT_FDCWD, &h, O_RDONLY)));
        out_int("keyctl", err_of(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0)));
        out_int("add_key", err_of(syscall(SYS_add_key, "user", "berth-probe", "x", 1, KEY_SPEC_SESSION_KEYRING)));
        out_int("request_key", err_of(syscall(SYS_request_key, "user", "berth-no-such-key", NULL, 0)));
        out_int("quotactl", err_of(syscall(SYS_quotactl, 0, "/nonexistent", 0, NULL)));
        out_int("fanotify_init", err_of(syscall(SYS_fanotify_init, 0, 0)));
        out_int("acct", err_of(syscall(SYS_acct, NULL)));
        out_int("settimeofday", err_of(syscall(SYS_settimeofday, NULL, NULL)));
        out_int("userfaultfd_probe", 0);
        out_end();
        return 0;
}

/* Host cgroups through file handles: the cgroup2 root of the host has id 1. */
int cmd_cgroup_handle(char **args) {
        struct { unsigned int bytes; int type; uint64_t id; } h = { .bytes = 8, .type = 0xfe /* FILEID_KERNFS */, .id = 1 };
        int mnt = open(args[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        out_begin();
        out_int("open_mount", err_of(mnt));
        int fd = (int) syscall(SYS_open_by_handle_at, mnt, &h, O_RDONLY | O_DIRECTORY);
        out_int("open_by_handle_at", err_of(fd));
        if (fd >= 0) {
                int w = openat(fd, "cgroup.max.descendants", O_WRONLY | O_CLOEXEC);
                out_int("open_attribute", err_of(w));
                if (w >= 0)
                        close(w);
                close(fd);
        }
        out_end();
        return 0;
}

/* Keys: the session keyring we got, whether the host's key SECRET_DESC is in it, and a key planted
 * in the user keyring as PLANT_DESC. */
int cmd_keys(char **args) {
        out_begin();
        long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
        out_int("session_id", id < 0 ? -errno : id);
        long k = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", args[0], 0);
        out_int("search_secret", err_of(k));
        if (k >= 0) {
                char buf[256] = "";
                long n = syscall(SYS_keyctl, KEYCTL_READ, k, buf, sizeof buf - 1);
                out_int("read_secret", err_of(n));
        }
        out_int("plant", err_of(syscall(SYS_add_key, "user", args[1], "planted", 7, KEY_SPEC_USER_KEYRING)));
        out_end();
        return 0;
}

/* mknod TYPE MAJOR MINOR at PATH, then open it read-write. */
int cmd_mknod_open(char **args) {
        mode_t type = args[1][0] == 'b' ? S_IFBLK : S_IFCHR;
        unsigned maj = (unsigned) atoi(args[2]), min = (unsigned) atoi(args[3]);
        out_begin();
        out_int("mknod", err_of(mknod(args[0], type | 0600, makedev(maj, min))));
        int fd = open(args[0], O_RDWR | O_CLOEXEC | O_NOCTTY);
        out_int("open", err_of(fd));
        if (fd >= 0)
                close(fd);
        fd = open(args[0], O_RDONLY | O_CLOEXEC | O_NOCTTY);
        out_int("open_ro", err_of(fd));
        if (fd >= 0)
                close(fd);
        out_end();
        return 0;
}

/* open(PATH) read-only, write-only or read-write ("r", "w", "rw"). */
int cmd_try_open(char **args) {
        int flags = strcmp(args[1], "rw") == 0 ? O_RDWR : strcmp(args[1], "w") == 0 ? O_WRONLY : O_RDONLY;
        int fd = open(args[0], flags | O_CLOEXEC | O_NOCTTY);
        out_begin();
        out_int("open", err_of(fd));
        if (fd >= 0)
                close(fd);
        out_end();
        return 0;
}

/* mount(SOURCE, TARGET, FSTYPE, FLAGS) with flags "remount-rw", "rw" or "ro". */
int cmd_try_mount(char **args) {
        unsigned long flags = strcmp(args[3], "remount-rw") == 0 ? MS_REMOUNT :
                              strcmp(args[3], "bind-remount-rw") == 0 ? MS_REMOUNT | MS_BIND :
                              strcmp(args[3], "ro") == 0 ? MS_RDONLY : 0;
        (void) mkdir(args[1], 0755);
        out_begin();
        out_int("mount", err_of(mount(args[0], args[1], strcmp(args[2], "-") == 0 ? NULL : args[2], flags, NULL)));
        out_end();
        return 0;
}

#if defined(__x86_64__)
/* An i386 system call from this 64-bit process: int $0x80 enters the kernel's 32-bit entry, and
 * seccomp sees AUDIT_ARCH_I386. Pointer arguments would be truncated, so only NULL and numbers. */
static long int80(long nr, long a, long b, long c) {
        long ret;
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c)
                         : "r8", "r9", "r10", "r11", "memory");
        return ret;
}

/* An x32 system call: the 64-bit entry with __X32_SYSCALL_BIT. */
static long x32call(long nr, long a, long b, long c) {
        long ret;
        register long r10 __asm__("r10") = 0;
        __asm__ volatile("syscall" : "=a"(ret) : "a"(0x40000000L | nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                         : "rcx", "r11", "memory");
        return ret;
}
#endif

/* Whether this kernel runs i386 system calls at all (a PVM guest or ia32_emulation=0 does not:
 * int $0x80 kills the caller). */
static bool i386_works(void) {
#if defined(__x86_64__)
        pid_t pid = fork();
        if (pid == 0)
                _exit(int80(20, 0, 0, 0) > 0 ? 0 : 1);
        int status;
        return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
#else
        return false;
#endif
}

/* The same refused calls through the other architectures this kernel runs: the filter must hold
 * for 32-bit and x32 binaries too. Values are -errno (or the result); "i386": 0 if this kernel
 * has no i386 entry to try. */
int cmd_compat_syscalls(char **args) {
        out_begin();
        bool i386 = i386_works();
        out_int("i386", i386);
#if defined(__x86_64__)
        if (i386) {
                out_int("i386_getpid", int80(20, 0, 0, 0));
                out_int("i386_swapon", int80(87, 0, 0, 0));
                out_int("i386_keyctl", int80(288, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
                out_int("i386_bpf", int80(357, BPF_MAP_CREATE, 0, 0));
                out_int("i386_open_by_handle_at", int80(342, -1, 0, 0));
        }
        out_int("x32_getpid", x32call(39, 0, 0, 0));
        out_int("x32_swapon", x32call(167, 0, 0, 0));
        out_int("x32_keyctl", x32call(250, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
#endif
        out_end();
        return 0;
}
