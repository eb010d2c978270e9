/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"
#include "spawn-caps.h"

#define CAP(c) (UINT64_C(1) << (c))

uint64_t capability_container_set(bool private_network) {
        /* Left out on purpose: SYS_MODULE, SYS_RAWIO, SYS_TIME, SYS_PACCT, MAC_*, SYSLOG, WAKE_ALARM,
         * BLOCK_SUSPEND, BPF, PERFMON, CHECKPOINT_RESTORE, IPC_LOCK, NET_ADMIN (host network): each
         * reaches host-global state that a container must not change. */
        uint64_t set = CAP(CAP_AUDIT_CONTROL) | CAP(CAP_AUDIT_WRITE) | CAP(CAP_CHOWN) |
                       CAP(CAP_DAC_OVERRIDE) | CAP(CAP_DAC_READ_SEARCH) | CAP(CAP_FOWNER) |
                       CAP(CAP_FSETID) | CAP(CAP_IPC_OWNER) | CAP(CAP_KILL) | CAP(CAP_LEASE) |
                       CAP(CAP_LINUX_IMMUTABLE) | CAP(CAP_MKNOD) | CAP(CAP_NET_BIND_SERVICE) |
                       CAP(CAP_NET_BROADCAST) | CAP(CAP_NET_RAW) | CAP(CAP_SETFCAP) | CAP(CAP_SETGID) |
                       CAP(CAP_SETPCAP) | CAP(CAP_SETUID) | CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_BOOT) |
                       CAP(CAP_SYS_CHROOT) | CAP(CAP_SYS_NICE) | CAP(CAP_SYS_PTRACE) |
                       CAP(CAP_SYS_RESOURCE) | CAP(CAP_SYS_TTY_CONFIG);
        if (private_network)
                set |= CAP(CAP_NET_ADMIN);
        return set;
}

static int cap_last_cap(void) {
        _cleanup_free_ char *s = NULL;
        unsigned v;

        if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, &s, NULL) < 0)
                return CAP_LAST_CAP;
        s[strcspn(s, "\n")] = 0;
        if (safe_atou(s, &v) < 0 || v > 63)
                return CAP_LAST_CAP;
        return (int) v;
}

int capability_bounding_set_limit(uint64_t keep) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];
        int last = cap_last_cap();

        for (int cap = 0; cap <= last; cap++)
                if (!(keep & CAP(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return negative_errno();

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return negative_errno();

        /* For root, exec grants inheritable | bounding: an inheritable set handed to us by our own
         * parent would otherwise slip past the bounding set. */
        if (syscall(SYS_capget, &h, d) < 0)
                return negative_errno();
        d[0].inheritable &= (uint32_t) keep;
        d[1].inheritable &= (uint32_t) (keep >> 32);
        if (syscall(SYS_capset, &h, d) < 0)
                return negative_errno();
        return 0;
}
