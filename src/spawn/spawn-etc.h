/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

typedef struct SpawnConfig SpawnConfig;

/* --resolv-conf= and --timezone=: make the guest's /etc/resolv.conf and /etc/localtime follow
 * the host's. Runs in the container's mount namespace before pivot_root, while the host's files
 * are still reachable; everything in the tree is resolved inside it. Logs errors. */
int etc_setup_resolv_conf(const SpawnConfig *c, int rootfd, const char *nameserver);
int etc_setup_timezone(const SpawnConfig *c, int rootfd);

/* /run/host: the host's os-release, container-manager, container-uuid, and the notify socket a
 * systemd guest reports READY=1 on (bound, returned in *ret_notify_fd). Logs errors. */
int run_host_setup(const SpawnConfig *c, int rootfd, int *ret_notify_fd);
