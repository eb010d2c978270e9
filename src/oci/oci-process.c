/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "fd-util.h"
#include "oci-fail.h"
#include "oci-process.h"
#include "path-util.h"
#include "spawn-caps.h"
#include "strv.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int oci_console_setup(int console_sock, bool bind_console, char **ret_error) {
        _cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return fail(ret_error, -errno, "Failed to open the container's /dev/pts/ptmx%s: %s", NULL);
        if (unlockpt(master) < 0)
                return fail(ret_error, -errno, "unlockpt failed%s: %s", NULL);
        /* TIOCGPTPEER opens the peer through the master, never through a path the container owns. */
        _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return fail(ret_error, -errno, "Failed to open the pty's peer%s: %s", NULL);
        char name[64];
        if (ptsname_r(master, name, sizeof(name)) != 0)
                return fail(ret_error, -EIO, "ptsname failed%s: %s", NULL);
        if (bind_console) {
                _cleanup_close_ int fd = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 || mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
                        return fail(ret_error, -errno, "Failed to bind %s onto /dev/console: %s", name);
        }
        int r = send_data_with_fd(console_sock, name, strlen(name), master);
        if (r < 0)
                return fail(ret_error, r, "Failed to send the pty master to the console socket%s: %s", NULL);
        if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                return fail(ret_error, -errno, "Failed to make %s the controlling terminal: %s", name);
        for (int i = 0; i < 3; i++)
                if (dup2(slave, i) < 0)
                        return fail(ret_error, -errno, "dup2 of the pty failed%s: %s", NULL);
        return 0;
}

int oci_process_lookup(const OciProcess *p, char **ret_path, char **ret_error) {
        const char *arg0 = p->args[0];
        if (strchr(arg0, '/')) {
                if (access(arg0, X_OK) < 0)
                        return fail(ret_error, -errno, "exec: \"%s\": %s", arg0);
                char *c = strdup(arg0);
                if (!c)
                        return -ENOMEM;
                *ret_path = c;
                return 0;
        }
        int r = find_executable(arg0, strv_env_get(p->env, "PATH"), ret_path);
        if (r < 0)
                /* The words podman and containerd match to report "command not found" (127). */
                return fail(ret_error, r, "exec: \"%s\": executable file not found in $PATH (%s)", arg0);
        return 0;
}

int oci_process_prepare(const OciProcess *p, char **ret_error) {
        for (size_t i = 0; i < p->n_rlimits; i++) {
                struct rlimit want = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard }, have;
                if (setrlimit(p->rlimits[i].resource, &want) >= 0)
                        continue;
                /* Raising a hard limit needs CAP_SYS_RESOURCE, which a confined host may have taken
                 * from us: keep the hard limit we have then, rather than refuse the container. */
                if (errno != EPERM || getrlimit(p->rlimits[i].resource, &have) < 0)
                        return fail(ret_error, -errno, "setrlimit failed%s: %s", NULL);
                want.rlim_max = MIN(want.rlim_max, have.rlim_max);
                want.rlim_cur = MIN(want.rlim_cur, want.rlim_max);
                if (setrlimit(p->rlimits[i].resource, &want) < 0)
                        return fail(ret_error, -errno, "setrlimit failed%s: %s", NULL);
        }
        if (p->has_oom_score_adj) {
                char buf[16];
                snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
                _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || loop_write(fd, buf, strlen(buf)) < 0)
                        return fail(ret_error, -errno, "Failed to set oom_score_adj%s: %s", NULL);
        }
        /* runc's default where config.json names none, not whatever umask the engine had. */
        umask(p->has_umask ? p->umask : 0022);
        if (chdir(p->cwd ?: "/") < 0)
                return fail(ret_error, -errno, "Failed to change to the working directory %s: %s", p->cwd);
        return 0;
}

static int last_cap(void) {
        char buf[16] = {};
        _cleanup_close_ int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
                return CAP_LAST_CAP;
        return atoi(buf);
}

/* A set of capability names as a mask; names newer than our table are left out, as runc warns
 * about and skips them. */
static uint64_t caps_mask(char * const *names) {
        uint64_t m = 0;
        for (char * const *n = names; n && *n; n++) {
                int c = capability_from_name(*n);
                if (c >= 0 && c < 64)
                        m |= UINT64_C(1) << c;
        }
        return m;
}

static int caps_apply(const OciProcess *p, int phase) {
        if (!p->has_capabilities)
                return 0;
        int last = last_cap();
        if (phase == 0) {
                /* Before the user switch: the bounding set (needs CAP_SETPCAP) and keep-caps. */
                uint64_t bounding = caps_mask(p->capabilities[OCI_CAP_BOUNDING]);
                for (int c = 0; c <= last; c++)
                        if (!(bounding & (UINT64_C(1) << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                                return -errno;
                return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ? -errno : 0;
        }
        uint64_t effective = caps_mask(p->capabilities[OCI_CAP_EFFECTIVE]),
                 permitted = caps_mask(p->capabilities[OCI_CAP_PERMITTED]),
                 inheritable = caps_mask(p->capabilities[OCI_CAP_INHERITABLE]);
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};
        for (int i = 0; i < 2; i++) {
                d[i].effective = (uint32_t) (effective >> (32 * i));
                d[i].permitted = (uint32_t) (permitted >> (32 * i));
                d[i].inheritable = (uint32_t) (inheritable >> (32 * i));
        }
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        /* The kernel raises an ambient capability only if it is permitted and inheritable; runc's
         * own `runc spec` asks for ambient ones without inheritable: those are skipped, as runc does. */
        uint64_t ambient = caps_mask(p->capabilities[OCI_CAP_AMBIENT]) & inheritable & permitted;
        for (int c = 0; c <= last && c < 64; c++)
                if ((ambient & (UINT64_C(1) << c)) &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
                        return -errno;
        return 0;
}

static int seccomp_install(const SeccompProgram *prog, char **ret_error) {
        int r = seccomp_program_install(prog);
        return r < 0 ? fail(ret_error, r, "Failed to load the seccomp filter%s: %s", NULL) : 0;
}

int oci_process_exec(const OciProcess *p, const SeccompProgram *seccomp, const char *exe, char **ret_error) {
        int r;
        /* Without no_new_privs loading a filter needs CAP_SYS_ADMIN, which the user switch may drop:
         * load it first then (the filter then also covers setuid and capset, as with runc). */
        if (seccomp && !p->no_new_privileges) {
                r = seccomp_install(seccomp, ret_error);
                if (r < 0)
                        return r;
        }
        r = caps_apply(p, 0);
        if (r < 0)
                return fail(ret_error, r, "Failed to limit the capability bounding set%s: %s", NULL);
        if (setgroups(p->n_additional_gids, p->additional_gids) < 0 && !(errno == EPERM && p->n_additional_gids == 0))
                return fail(ret_error, -errno, "setgroups failed%s: %s", NULL);
        if (setresgid(p->gid, p->gid, p->gid) < 0 || setresuid(p->uid, p->uid, p->uid) < 0)
                return fail(ret_error, -errno, "Failed to switch to the process's user%s: %s", NULL);
        r = caps_apply(p, 1);
        if (r < 0)
                return fail(ret_error, r, "Failed to set the process's capabilities%s: %s", NULL);
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return fail(ret_error, -errno, "Failed to set no_new_privs%s: %s", NULL);
        if (seccomp && p->no_new_privileges) {
                r = seccomp_install(seccomp, ret_error);
                if (r < 0)
                        return r;
        }
        execve(exe, p->args, p->env);
        return fail(ret_error, -errno, "exec %s failed: %s", exe);
}
