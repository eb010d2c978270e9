/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup-util.h"

/* One rule of the container's device allow list, in the devices controller's terms. */
typedef enum DeviceAccess {
        DEVICE_ACCESS_READ = 1 << 0,
        DEVICE_ACCESS_WRITE = 1 << 1,
        DEVICE_ACCESS_MKNOD = 1 << 2,
        DEVICE_ACCESS_ALL = 7,
} DeviceAccess;

typedef struct DeviceRule {
        char type;      /* 'c' or 'b' */
        int major;      /* -1: any */
        int minor;      /* -1: any */
        unsigned access;
} DeviceRule;

typedef struct DevicePolicy {
        DeviceRule *rules;
        size_t n_rules;
} DevicePolicy;

void device_policy_done(DevicePolicy *p);
int device_policy_add(DevicePolicy *p, const DeviceRule *r);

/* "/dev/sda rw", "char-pts rwm", "block-loop r" (access defaults to rwm), as systemd's
 * DeviceAllow=. A path is looked up on the host now; a class name in /proc/devices (the
 * `proc_devices` text, NULL to read the host's). Returns -EINVAL, -ENOENT (no such device or
 * class) or -errno. */
int device_rule_parse(const char *spec, const char *proc_devices, DeviceRule *ret);

/* The nodes the container may open, as systemd-nspawn allows them: null, zero, full, random,
 * urandom, tty, console, ptmx and every pts; /dev/net/tun and /dev/fuse when the host has them
 * (`tun`, `fuse`); then `extra` (--property=DeviceAllow=). */
int device_policy_build(bool tun, bool fuse, const DevicePolicy *extra, DevicePolicy *ret);

/* "c 1:3 rwm", "c 136:* rw": a devices.allow line. buf must hold 32 bytes. */
const char *device_rule_to_string(const DeviceRule *r, char buf[static 32]);

/* The policy as a BPF_PROG_TYPE_CGROUP_DEVICE program (struct bpf_insn[]), pure so it can be
 * tested without privileges. */
int device_bpf_program_build(const DevicePolicy *p, void **ret_insns, size_t *ret_n);

/* cgroup v1: deny everything in the devices controller's cgroup `path`, then allow the policy. */
int device_policy_apply_v1(const CGroupHierarchy *h, const char *path, const DevicePolicy *p);
/* cgroup v2 (also the unified hierarchy of a hybrid host, whose programs the kernel runs on every
 * device access too): loads the program and attaches it to the cgroup directory dir_fd. */
int device_policy_attach_bpf(int dir_fd, const DevicePolicy *p);
