/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/reboot.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spawn-reboot.h"

#if defined(__x86_64__)
#  define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#  define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

int reboot_listener_install(void) {
#ifdef NATIVE_AUDIT_ARCH
        /* reboot(2) of the native ABI goes to the listener; everything else is the other filters'
         * business (the strictest answer of all filters wins, and they allow reboot). */
        struct sock_filter insns[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_reboot, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof(insns) / sizeof(insns[0]), .filter = insns };
        int fd = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
        return fd < 0 ? -errno : fd;
#else
        return -EOPNOTSUPP;
#endif
}

int reboot_listener_handle(int fd) {
        struct seccomp_notif req;
        struct seccomp_notif_resp resp = {};
        int sig = 0;

        memset(&req, 0, sizeof(req));
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
                return errno == ENOENT || errno == EINTR ? 0 : -errno;

        /* As kernel/reboot.c: the magic numbers first, then what a PID namespace allows. */
        resp.id = req.id;
        if ((uint32_t) req.data.args[0] != LINUX_REBOOT_MAGIC1 ||
            ((uint32_t) req.data.args[1] != LINUX_REBOOT_MAGIC2 && (uint32_t) req.data.args[1] != LINUX_REBOOT_MAGIC2A &&
             (uint32_t) req.data.args[1] != LINUX_REBOOT_MAGIC2B && (uint32_t) req.data.args[1] != LINUX_REBOOT_MAGIC2C))
                resp.error = -EINVAL;
        else
                switch ((uint32_t) req.data.args[2]) {
                case LINUX_REBOOT_CMD_RESTART:
                case LINUX_REBOOT_CMD_RESTART2:
                        sig = SIGHUP;
                        break;
                case LINUX_REBOOT_CMD_POWER_OFF:
                case LINUX_REBOOT_CMD_HALT:
                        sig = SIGINT;
                        break;
                case LINUX_REBOOT_CMD_CAD_ON:
                case LINUX_REBOOT_CMD_CAD_OFF:
                        break;
                default:
                        resp.error = -EINVAL;
                }
        /* The caller dies with the container when sig is set; answered all the same. */
        (void) ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        return sig;
}
