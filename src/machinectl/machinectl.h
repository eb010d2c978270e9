/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "kill-whom.h"
#include "macro.h"

/* How verbs that print something print it. */
typedef enum OutputMode {
        OUTPUT_TEXT,        /* aligned tables and "Key: value" blocks */
        OUTPUT_JSON_SHORT,  /* one line of JSON */
        OUTPUT_JSON_PRETTY, /* indented JSON */
        _OUTPUT_MODE_MAX,
        _OUTPUT_MODE_INVALID = -22,
} OutputMode;

const char *output_mode_to_string(OutputMode m);
/* Accepts the -o names ("short", "json", "json-pretty") and the --json= names ("short",
 * "pretty", "off") through json_mode_from_string(). */
OutputMode output_mode_from_string(const char *s);
OutputMode json_mode_from_string(const char *s);


typedef struct MachinectlConfig {
        bool all;            /* -a: hidden machines/images, empty properties */
        bool full;           /* -l: no ellipsis, no truncation */
        bool legend;         /* headers and "N machines listed." */
        bool quiet;          /* -q */
        bool value;          /* --value: show prints values only */
        bool now;            /* enable/disable --now */
        bool read_only;      /* clone, bind --read-only */
        bool force;          /* copy-to/copy-from --force: replace the destination */
        bool mkdir;          /* bind --mkdir */
        bool colors;         /* decided once: stdout is a tty, NO_COLOR unset, TERM not dumb */
        OutputMode output;
        KillWhom kill_whom;  /* _KILL_WHOM_INVALID: the verb's default */
        int signal;          /* 0: the verb's default */
        unsigned max_addresses; /* list: addresses per machine shown, UINT_MAX for all */
        unsigned lines;      /* status -n: journal lines */
        int journal_mode;    /* status -o: a JournalMode (machinectl-journal.h) */
        char **properties;   /* -p, each may hold a comma-separated list */
        char *uid;           /* shell --uid= */
        char **setenv;       /* shell -E/--setenv= */
        char **args;         /* the verb and its arguments */
        char *machine;       /* -M/--machine=[USER@]NAME: the bus in that container, or NULL */
} MachinectlConfig;

#define MACHINECTL_CONFIG_INIT                                                                  \
        ((MachinectlConfig) { .legend = true, .kill_whom = _KILL_WHOM_INVALID,                  \
                              .output = OUTPUT_TEXT, .max_addresses = 1, .lines = 10 })

void machinectl_config_done(MachinectlConfig *c);

/* Parses argv into c. Returns 1 to go on, 0 when it already did all there is (--help,
 * --version), < 0 on a usage error (already logged). */
int machinectl_parse_argv(int argc, char *argv[], MachinectlConfig *c);
void machinectl_help(void);

/* One verb: args[0] is the verb itself. Each returns the process's exit status (0, or what a
 * shell's command exited with) or a negative errno, after logging it. */
typedef int (*VerbFunction)(sd_bus *bus, char **args, const MachinectlConfig *c);

int verb_list(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_list_images(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_status(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_show(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_image_status(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_show_image(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_terminate(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_poweroff(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_reboot(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_kill(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_start(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_stop(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_enable(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_disable(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_login(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_shell(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_clone(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_rename(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_remove(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_read_only(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_set_limit(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_clean(sd_bus *bus, char **args, const MachinectlConfig *c);
/* Local: bus may be NULL (then the default pool, /var/lib/machines, is used). */
int verb_import_raw(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_import_tar(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_import_fs(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_export_raw(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_export_tar(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_bind(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_copy_to(sd_bus *bus, char **args, const MachinectlConfig *c);
int verb_copy_from(sd_bus *bus, char **args, const MachinectlConfig *c);

/* The names of the pool's images as machined lists them, the hidden ones (".host", ...) only with
 * all. Logs errors. */
int image_names(sd_bus *bus, bool all, char ***ret);

/* What a machine's "poweroff" and "reboot" send to its leader, as systemd's machinectl does:
 * the signals a systemd PID 1 takes as "power off" and "ctrl-alt-del". */
#define POWEROFF_SIGNAL (SIGRTMIN + 4)
#define REBOOT_SIGNAL SIGINT
