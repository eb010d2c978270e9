/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <strings.h>
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

/* In kernel order: the index is the capability's number. */
static const char *const capability_names[] = {
        "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
        "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
        "cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw",
        "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot",
        "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
        "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
        "cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin",
        "cap_syslog", "cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon",
        "cap_bpf", "cap_checkpoint_restore"
};

const char *capability_to_name(int cap) {
        return cap >= 0 && (size_t) cap < ELEMENTSOF(capability_names) ? capability_names[cap] : NULL;
}

int capability_last_known(void) {
        return (int) ELEMENTSOF(capability_names) - 1;
}

int capability_from_name(const char *name) {
        const char *n = strncasecmp(name, "cap_", 4) == 0 ? name + 4 : name;
        for (size_t i = 0; i < ELEMENTSOF(capability_names); i++)
                if (strcasecmp(capability_names[i] + 4, n) == 0)
                        return (int) i;
        return -EINVAL;
}

int capability_mask_parse(const char *list, uint64_t *ret, const char **ret_bad) {
        static char bad[64];
        uint64_t mask = 0;

        _cleanup_free_ char *copy = strdup(list);
        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *w = strtok_r(copy, " ,", &save); w; w = strtok_r(NULL, " ,", &save)) {
                if (streq(w, "all")) {
                        mask |= (UINT64_C(2) << capability_last_known()) - 1;
                        continue;
                }
                int cap = capability_from_name(w);
                if (cap < 0) {
                        snprintf(bad, sizeof(bad), "%s", w);
                        if (ret_bad)
                                *ret_bad = bad;
                        return -EINVAL;
                }
                mask |= CAP(cap);
        }
        *ret = mask;
        return 0;
}

uint64_t capability_options_bounding(const CapabilityOptions *o, bool private_network) {
        return (capability_container_set(private_network) | o->add) & ~o->drop;
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

int capability_ambient_apply(uint64_t ambient) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];

        if (ambient == 0)
                return 0;
        /* A capability can be ambient only while it is permitted and inheritable. */
        if (syscall(SYS_capget, &h, d) < 0)
                return negative_errno();
        d[0].inheritable |= (uint32_t) ambient;
        d[1].inheritable |= (uint32_t) (ambient >> 32);
        d[0].effective = d[0].permitted;
        d[1].effective = d[1].permitted;
        if (syscall(SYS_capset, &h, d) < 0)
                return negative_errno();
        for (int cap = 0; cap <= 63; cap++)
                if ((ambient & CAP(cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                        return negative_errno();
        return 0;
}
