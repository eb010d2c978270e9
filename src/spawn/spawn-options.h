/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "parse-util.h"
#include "spawn-mount.h"

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
        bool as_pid2;
        bool read_only;
        bool private_network;
        bool quiet;
} SpawnConfig;

void spawn_config_done(SpawnConfig *c);

/* Returns > 0 to continue, 0 to exit successfully (--help, --version), < 0 on error (logged). */
int spawn_config_parse_argv(SpawnConfig *c, int argc, char *argv[]);

/* Fills defaults and validates the combination against the host; logs one line on error. */
int spawn_config_verify(SpawnConfig *c);
