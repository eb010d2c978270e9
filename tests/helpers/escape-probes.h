/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

int cmd_escape_fds(char **args);
int cmd_poke_pid1_fds(char **args);
int cmd_syscalls(char **args);
int cmd_cgroup_handle(char **args);
int cmd_keys(char **args);
int cmd_mknod_open(char **args);
int cmd_try_open(char **args);
int cmd_try_mount(char **args);
int cmd_compat_syscalls(char **args);
