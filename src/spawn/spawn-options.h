/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cgroup-util.h"
#include "macro.h"
#include "parse-util.h"
#include "spawn-mount.h"
#include "spawn-register.h"

typedef enum ConsoleMode {
        CONSOLE_INTERACTIVE,
        CONSOLE_READ_ONLY,
        CONSOLE_PASSIVE,
        CONSOLE_PIPE,
        CONSOLE_AUTOPIPE,
        _CONSOLE_MODE_MAX,
        _CONSOLE_MODE_INVALID = -EINVAL,
} ConsoleMode;

const char *console_mode_to_string(ConsoleMode m);
ConsoleMode console_mode_from_string(const char *s);

/* nspawn's --resolv-conf= modes we support. */
typedef enum ResolvConfMode {
        RESOLV_CONF_OFF,
        RESOLV_CONF_COPY_HOST,
        RESOLV_CONF_BIND_HOST,
        RESOLV_CONF_REPLACE_HOST,
        RESOLV_CONF_DELETE,
        RESOLV_CONF_AUTO,
        _RESOLV_CONF_MODE_MAX,
        _RESOLV_CONF_MODE_INVALID = -EINVAL,
} ResolvConfMode;

const char *resolv_conf_mode_to_string(ResolvConfMode m);
ResolvConfMode resolv_conf_mode_from_string(const char *s);

/* nspawn's --timezone= modes. */
typedef enum TimezoneMode {
        TIMEZONE_OFF,
        TIMEZONE_COPY,
        TIMEZONE_BIND,
        TIMEZONE_SYMLINK,
        TIMEZONE_DELETE,
        TIMEZONE_AUTO,
        _TIMEZONE_MODE_MAX,
        _TIMEZONE_MODE_INVALID = -EINVAL,
} TimezoneMode;

const char *timezone_mode_to_string(TimezoneMode m);
TimezoneMode timezone_mode_from_string(const char *s);

/* What kind of init -b found: it decides the default halt signal. */
typedef enum InitKind {
        INIT_SYSTEMD,
        INIT_BUSYBOX,
        INIT_SYSV,                /* halted through /run/initctl, it has no halt signal */
        INIT_OTHER,
        _INIT_KIND_MAX,
        _INIT_KIND_INVALID = -EINVAL,
} InitKind;

/* Everything the command line says, in one place. Filled by spawn_config_parse_argv(), checked
 * by spawn_config_verify(), read-only afterwards. */
typedef struct SpawnConfig {
        char *directory;          /* absolute, symlinks resolved */
        char *machine;
        char *hostname;
        Id128 uuid;
        char *user;
        char *chdir;
        char **setenv;            /* NAME=VALUE */
        char **command;           /* NULL → the user's shell */
        CustomMount *mounts;
        size_t n_mounts;
        ConsoleMode console_mode; /* _CONSOLE_MODE_INVALID until verified: then the effective mode */
        int kill_signal;          /* 0 until verified */
        bool halt_via_initctl;    /* -b with sysvinit and no --kill-signal: telinit 0 */
        bool boot;
        char *init_path;          /* -b: the init found in the tree */
        InitKind init_kind;
        char **init_env;          /* -b: KEY=VALUE arguments, passed as environment */
        CGroupLimits limits;      /* --property= */
        CGroupMode cgroup_layout; /* what the guest gets mounted on /sys/fs/cgroup */
        ResolvConfMode resolv_conf;
        TimezoneMode timezone;
        bool notify_ready;
        RegisterMode register_mode;
        bool keep_unit;           /* register the cgroup we run in instead of a new scope */
        char *slice;
        bool restart_on_reboot;
        bool as_pid2;
        bool read_only;
        bool private_network;
        bool quiet;
        char *selinux_context;        /* -Z: the payload's process label */
        char *selinux_apifs_context;  /* -L: the label of the API file systems we mount */
        bool selinux_enabled;         /* verified: the host has SELinux, /sys/fs/selinux is bound in */
} SpawnConfig;

void spawn_config_init(SpawnConfig *c);
void spawn_config_done(SpawnConfig *c);

/* Returns > 0 to continue, 0 to exit successfully (--help, --version), < 0 on error (logged). */
int spawn_config_parse_argv(SpawnConfig *c, int argc, char *argv[]);

/* Fills defaults and validates the combination against the host; logs one line on error. */
int spawn_config_verify(SpawnConfig *c);
