/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "spawn-seccomp.h"
#include "strv.h"

#define CAP(c) (UINT64_C(1) << (c))

/* systemd-nspawn's default policy: these groups and calls always, the others only while the
 * container keeps the capability that makes them useful. Knowingly missing, as in nspawn:
 * @cpu-emulation, @keyring (keys are not namespaced), @obsolete, @pkey, @swap, bpf (bpffs is not
 * namespaced), fanotify, kexec, lookup_dcookie, nfsservctl, open_by_handle_at (opens any file
 * of a mounted file system by its handle), perf_event_open, quotactl. */
static const struct {
        uint64_t cap;
        const char *name;
} default_allow[] = {
        { 0, "@aio" }, { 0, "@basic-io" }, { 0, "@chown" }, { 0, "@default" },
        { 0, "@file-system" }, { 0, "@io-event" }, { 0, "@ipc" }, { 0, "@mount" },
        { 0, "@network-io" }, { 0, "@process" }, { 0, "@resources" }, { 0, "@setuid" },
        { 0, "@signal" }, { 0, "@sync" }, { 0, "@timer" },
        { CAP(CAP_SYS_TIME), "@clock" }, { CAP(CAP_SYS_MODULE), "@module" },
        { CAP(CAP_SYS_RAWIO), "@raw-io" }, { CAP(CAP_IPC_LOCK), "@memlock" },
        { 0, "brk" }, { 0, "capget" }, { 0, "capset" }, { 0, "copy_file_range" },
        { 0, "fadvise64" }, { 0, "fadvise64_64" }, { 0, "flock" }, { 0, "get_mempolicy" },
        { 0, "getcpu" }, { 0, "getpriority" }, { 0, "getrandom" }, { 0, "ioctl" },
        { 0, "ioprio_get" }, { 0, "kcmp" }, { 0, "madvise" }, { 0, "mincore" },
        { 0, "mprotect" }, { 0, "mremap" }, { 0, "name_to_handle_at" }, { 0, "oldolduname" },
        { 0, "olduname" }, { 0, "personality" }, { 0, "readahead" }, { 0, "readdir" },
        { 0, "remap_file_pages" }, { 0, "sched_get_priority_max" }, { 0, "sched_get_priority_min" },
        { 0, "sched_getaffinity" }, { 0, "sched_getattr" }, { 0, "sched_getparam" },
        { 0, "sched_getscheduler" }, { 0, "sched_rr_get_interval" }, { 0, "sched_yield" },
        { 0, "seccomp" }, { 0, "sendfile" }, { 0, "sendfile64" }, { 0, "setdomainname" },
        { 0, "setfsgid" }, { 0, "setfsgid32" }, { 0, "setfsuid" }, { 0, "setfsuid32" },
        { 0, "sethostname" }, { 0, "setpgid" }, { 0, "setsid" }, { 0, "splice" },
        { 0, "sysinfo" }, { 0, "tee" }, { 0, "umask" }, { 0, "uname" }, { 0, "userfaultfd" },
        { 0, "vmsplice" },
        { CAP(CAP_SYS_PACCT), "acct" }, { CAP(CAP_SYS_PTRACE), "process_vm_readv" },
        { CAP(CAP_SYS_PTRACE), "process_vm_writev" }, { CAP(CAP_SYS_PTRACE), "ptrace" },
        { CAP(CAP_SYS_BOOT), "reboot" }, { CAP(CAP_SYSLOG), "syslog" },
        { CAP(CAP_SYS_TTY_CONFIG), "vhangup" },
};

uint64_t seccomp_policy_caps(void) {
        uint64_t m = 0;
        for (size_t i = 0; i < ELEMENTSOF(default_allow); i++)
                m |= default_allow[i].cap;
        return m;
}

bool seccomp_program_is_default(const SyscallFilter *f, uint64_t caps, uint64_t default_caps) {
        uint64_t m = seccomp_policy_caps();
        return (!f || (!f->allow && !f->deny)) && (caps & m) == (default_caps & m);
}

const SyscallGroup *syscall_group_find(const char *name) {
        for (size_t i = 0; i < syscall_groups_n; i++)
                if (streq(syscall_groups[i].name, name))
                        return syscall_groups + i;
        return NULL;
}

void syscall_filter_done(SyscallFilter *f) {
        f->allow = strv_free(f->allow);
        f->deny = strv_free(f->deny);
}

static bool syscall_name_is_known(const char *name) {
        if (name[0] == '@')
                return syscall_group_find(name);
        return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

int syscall_filter_parse(SyscallFilter *f, const char *arg, const char **ret_bad) {
        static char bad[64];
        bool negate = arg[0] == '~';
        int r;

        if (isempty(arg)) {
                syscall_filter_done(f);
                return 0;
        }
        _cleanup_free_ char *copy = strdup(arg + negate);
        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *w = strtok_r(copy, " ,", &save); w; w = strtok_r(NULL, " ,", &save)) {
                if (!syscall_name_is_known(w)) {
                        snprintf(bad, sizeof(bad), "%s", w);
                        if (ret_bad)
                                *ret_bad = bad;
                        return -EINVAL;
                }
                r = strv_extend(negate ? &f->deny : &f->allow, w);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Adds name, or every member of the group it names, to *set (depth bounds cyclic groups). */
static int expand(char ***set, const char *name, unsigned depth) {
        if (name[0] != '@')
                return strv_extend(set, name); /* duplicates go in syscall_filter_resolve() */

        const SyscallGroup *g = syscall_group_find(name);
        if (!g || depth > 8)
                return -EINVAL;
        _cleanup_free_ char *copy = strdup(g->syscalls);
        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                int r = expand(set, w, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* Sorts l and drops duplicates, in place. */
static size_t sort_unique(char **l) {
        size_t n = strv_length(l), k = 0;
        qsort(l, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++) {
                if (k > 0 && streq(l[k - 1], l[i])) {
                        free(l[i]);
                        continue;
                }
                l[k++] = l[i];
        }
        l[k] = NULL;
        return k;
}

int syscall_filter_resolve(const SyscallFilter *f, uint64_t caps, char ***ret) {
        _cleanup_strv_free_ char **allow = NULL, **deny = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(default_allow); i++) {
                if (default_allow[i].cap != 0 && !(caps & default_allow[i].cap))
                        continue;
                r = expand(&allow, default_allow[i].name, 0);
                if (r < 0)
                        return r;
        }
        for (char **n = f ? f->allow : NULL; n && *n; n++)
                if ((r = expand(&allow, *n, 0)) < 0)
                        return r;
        for (char **n = f ? f->deny : NULL; n && *n; n++)
                if ((r = expand(&deny, *n, 0)) < 0)
                        return r;
        if (!allow && !(allow = calloc(1, sizeof(char *))))
                return -ENOMEM;

        /* Sorted sets: a few hundred names, compared in O(n log n) rather than pairwise. */
        size_t n = sort_unique(allow), n_deny = deny ? sort_unique(deny) : 0, k = 0;
        for (size_t i = 0; i < n; i++) {
                if (n_deny > 0 && bsearch(&allow[i], deny, n_deny, sizeof(char *), cmp_str)) {
                        free(allow[i]);
                        continue;
                }
                allow[k++] = allow[i];
        }
        allow[k] = NULL;
        *ret = TAKE_PTR(allow);
        return 0;
}

/* The architectures this machine runs natively, the compiled-for one first. */
static const uint32_t local_archs[] = {
#if defined(__x86_64__) && !defined(__ILP32__)
        SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32,
#elif defined(__x86_64__)
        SCMP_ARCH_X32, SCMP_ARCH_X86_64, SCMP_ARCH_X86,
#elif defined(__aarch64__)
        SCMP_ARCH_AARCH64, SCMP_ARCH_ARM,
#elif defined(__powerpc64__) && __BYTE_ORDER == __LITTLE_ENDIAN
        SCMP_ARCH_PPC64LE,
#elif defined(__s390x__)
        SCMP_ARCH_S390X, SCMP_ARCH_S390,
#else
        SCMP_ARCH_NATIVE,
#endif
};

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

static int filter_build(char **names, scmp_filter_ctx *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        int r;

        if (!ctx)
                return -ENOMEM;
        /* One program for all architectures: a 32-bit binary or an x32 one must not find its
         * system calls unfiltered. Anything from an architecture the kernel runs but we do not
         * list is refused. */
        for (size_t i = 1; i < ELEMENTSOF(local_archs); i++) {
                r = seccomp_arch_add(ctx, local_archs[i]);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
        if (r < 0)
                return r;
        /* We install it with CAP_SYS_ADMIN: no_new_privs stays the user's choice. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return r;
        /* A binary tree instead of a linear list: ~350 allowed calls cost a few compares each. */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

        for (char **n = names; *n; n++) {
                int nr = seccomp_syscall_resolve_name(*n);
                if (nr == __NR_SCMP_ERROR)
                        continue;
                /* Non-strict: a call one architecture lacks is skipped there, not an error. */
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r == -ENOMEM)
                        return r;
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

/* The generic way: libseccomp's compiler, for every architecture and policy. */
int seccomp_program_build_generic(char **names, SeccompProgram *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        r = filter_build(names, &ctx);
        if (r < 0)
                return r;
        return seccomp_program_export(ctx, ret);
}

int seccomp_program_export(void *ctx, SeccompProgram *ret) {
        int r;

        /* libseccomp 2.5 exports the program only to a file descriptor. */
        _cleanup_close_ int fd = memfd_create("seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 || st.st_size > 1024 * 1024)
                return -EBADMSG;
        _cleanup_free_ void *buf = malloc((size_t) st.st_size);
        if (!buf)
                return -ENOMEM;
        if (pread(fd, buf, (size_t) st.st_size, 0) != st.st_size)
                return -EIO;
        *ret = (SeccompProgram) { .insns = TAKE_PTR(buf), .n_insns = (size_t) st.st_size / sizeof(struct sock_filter) };
        return 0;
}

#if defined(__x86_64__) && !defined(__ILP32__)
#define X32_SYSCALL_BIT 0x40000000U
#define RET_DENY (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

static int cmp_int(const void *a, const void *b) {
        int x = *(const int *) a, y = *(const int *) b;
        return (x > y) - (x < y);
}

/* i386 has the socket and SysV IPC calls twice: multiplexed (socketcall, ipc) and, since Linux 4.3
 * and 5.1, as calls of their own. libseccomp names only the multiplexers for the x86 token (the
 * direct numbers are "pseudo" calls it handles inside its compiler), so we add them. */
static int i386_direct_number(const char *name) {
        static const struct {
                const char *name;
                int nr;
        } direct[] = {
                { "recvmmsg", 337 }, { "sendmmsg", 345 }, { "socket", 359 }, { "socketpair", 360 },
                { "bind", 361 }, { "connect", 362 }, { "listen", 363 }, { "accept4", 364 },
                { "getsockopt", 365 }, { "setsockopt", 366 }, { "getsockname", 367 },
                { "getpeername", 368 }, { "sendto", 369 }, { "sendmsg", 370 }, { "recvfrom", 371 },
                { "recvmsg", 372 }, { "shutdown", 373 }, { "semget", 393 }, { "semctl", 394 },
                { "shmget", 395 }, { "shmctl", 396 }, { "shmat", 397 }, { "shmdt", 398 },
                { "msgget", 399 }, { "msgsnd", 400 }, { "msgrcv", 401 }, { "msgctl", 402 },
        };
        for (size_t i = 0; i < ELEMENTSOF(direct); i++)
                if (streq(direct[i].name, name))
                        return direct[i].nr;
        return -1;
}

/* The sorted, distinct numbers of the names on one architecture (names it lacks are skipped). */
static int arch_numbers(char **names, uint32_t token, int **ret, size_t *ret_n) {
        size_t n = 0;
        int *nrs = calloc(strv_length(names) + 1, sizeof(int));
        if (!nrs)
                return -ENOMEM;
        for (char **p = names; *p; p++) {
                int nr = seccomp_syscall_resolve_name_arch(token, *p);
                if (nr < 0 && token == SCMP_ARCH_X86)
                        nr = i386_direct_number(*p);
                if (nr >= 0)
                        nrs[n++] = nr;
        }
        qsort(nrs, n, sizeof(int), cmp_int);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (k == 0 || nrs[k - 1] != nrs[i])
                        nrs[k++] = nrs[i];
        *ret = nrs;
        *ret_n = k;
        return 0;
}

/* Appends "allowed iff the number in A lies in one of the runs of nrs": per run of consecutive
 * numbers two compares, then a shared deny and allow. Classic BPF jumps reach 255 ahead. */
static int emit_ranges(struct sock_filter *prog, size_t *pos, size_t max, const int *nrs, size_t n) {
        size_t runs = 0;
        for (size_t i = 0; i < n; i++)
                runs += i == 0 || nrs[i] != nrs[i - 1] + 1;
        if (2 * runs + 2 > 256 || *pos + 2 * runs + 2 > max)
                return -E2BIG;

        size_t deny = *pos + 2 * runs, allow = deny + 1, j = *pos;
        for (size_t i = 0; i < n;) {
                size_t e = i;
                while (e + 1 < n && nrs[e + 1] == nrs[e] + 1)
                        e++;
                /* Below this run (and above the previous one): refused. In it: allowed. */
                prog[j] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t) nrs[i], 0, (uint8_t) (deny - j - 1));
                j++;
                prog[j] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t) nrs[e], 0, (uint8_t) (allow - j - 1));
                j++;
                i = e + 1;
        }
        prog[deny] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, RET_DENY);
        prog[allow] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        *pos = allow + 1;
        return 0;
}

/* The same policy as libseccomp's program, a fifth of its size: the kernel translates (and JITs)
 * every instruction when the filter is loaded, so this is what makes the filter cheap to start
 * with. x86-64 and x32 share AUDIT_ARCH_X86_64; x32 numbers have bit 30 set. */
static int seccomp_program_build_ranges(char **names, SeccompProgram *ret) {
        _cleanup_free_ int *x64 = NULL, *x32 = NULL, *i386 = NULL;
        size_t n64, n32, n386, pos = 0, max = 1024;
        int r;

        if ((r = arch_numbers(names, SCMP_ARCH_X86_64, &x64, &n64)) < 0 ||
            (r = arch_numbers(names, SCMP_ARCH_X32, &x32, &n32)) < 0 ||
            (r = arch_numbers(names, SCMP_ARCH_X86, &i386, &n386)) < 0)
                return r;
        _cleanup_free_ struct sock_filter *prog = calloc(max, sizeof(struct sock_filter));
        if (!prog)
                return -ENOMEM;

        prog[pos++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
        size_t to_i386 = pos++;                                   /* JEQ X86_64, else i386 */
        prog[pos++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
        size_t to_x32 = pos++;                                    /* JGE X32 bit */
        if ((r = emit_ranges(prog, &pos, max, x64, n64)) < 0)
                return r;
        size_t x32_at = pos;
        if ((r = emit_ranges(prog, &pos, max, x32, n32)) < 0)
                return r;
        size_t i386_at = pos++;
        prog[pos++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
        if ((r = emit_ranges(prog, &pos, max, i386, n386)) < 0)
                return r;
        size_t deny_at = pos++;
        if (i386_at - to_i386 - 1 > 255 || x32_at - to_x32 - 1 > 255 || deny_at - i386_at - 1 > 255)
                return -E2BIG;
        prog[to_i386] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, (uint8_t) (i386_at - to_i386 - 1));
        prog[to_x32] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, (uint8_t) (x32_at - to_x32 - 1), 0);
        prog[i386_at] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, (uint8_t) (deny_at - i386_at - 1));
        /* Any other architecture: refused. */
        prog[deny_at] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, RET_DENY);

        *ret = (SeccompProgram) { .insns = TAKE_PTR(prog), .n_insns = pos };
        return 0;
}
#else
static int seccomp_program_build_ranges(char **names, SeccompProgram *ret) {
        return -E2BIG;
}
#endif

int seccomp_program_build(const SyscallFilter *f, uint64_t caps, SeccompProgram *ret) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = syscall_filter_resolve(f, caps, &names);
        if (r < 0)
                return r;
        r = seccomp_program_build_ranges(names, ret);
        if (r != -E2BIG)
                return r;
        /* Too many runs for short jumps (or not x86-64): libseccomp's program, larger but general. */
        return seccomp_program_build_generic(names, ret);
}

void seccomp_program_done(SeccompProgram *p) {
        free(p->insns);
        *p = (SeccompProgram) {};
}

int seccomp_program_install(const SeccompProgram *p) {
        if (!p->insns)
                return 0;
        struct sock_fprog prog = { .len = (unsigned short) p->n_insns, .filter = p->insns };
        if (p->n_insns > BPF_MAXINSNS)
                return -E2BIG;
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return -errno;
        return 0;
}
