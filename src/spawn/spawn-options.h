/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "spawn-network-links.h"
#include "cgroup-util.h"
#include "macro.h"
#include "parse-util.h"
#include "spawn-isolation.h"
#include "spawn-mount.h"
#include "spawn-volatile.h"
#include "spawn-register.h"
#include "spawn-userns.h"

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

/* nspawn's --link-journal= modes (spawn-journal.c). */
typedef enum LinkJournal {
        LINK_JOURNAL_NO,
        LINK_JOURNAL_HOST,
        LINK_JOURNAL_TRY_HOST,
        LINK_JOURNAL_GUEST,
        LINK_JOURNAL_TRY_GUEST,
        LINK_JOURNAL_AUTO,
        _LINK_JOURNAL_MAX,
        _LINK_JOURNAL_INVALID = -EINVAL,
} LinkJournal;

const char *link_journal_to_string(LinkJournal m);
LinkJournal link_journal_from_string(const char *s);

/* --settings=: whether NAME.nspawn files are read, trusted, and win over the command line. */
typedef enum SettingsMode {
        SETTINGS_YES,             /* read; trusted in /etc and /run only; the command line wins */
        SETTINGS_NO,
        SETTINGS_TRUSTED,         /* read and trusted wherever found; the command line wins */
        SETTINGS_OVERRIDE,        /* as yes, but the file wins (what spawn@.service and machined use) */
        _SETTINGS_MODE_MAX,
        _SETTINGS_MODE_INVALID = -EINVAL,
} SettingsMode;

const char *settings_mode_to_string(SettingsMode m);
/* Also the boolean words: yes, true, 1, ... and no, false, 0, ... */
SettingsMode settings_mode_from_string(const char *s);

/* What kind of init -b found: it decides the default halt signal. */
typedef enum InitKind {
        INIT_SYSTEMD,
        INIT_BUSYBOX,
        INIT_SYSV,                /* halted through /run/initctl, it has no halt signal */
        INIT_OTHER,
        _INIT_KIND_MAX,
        _INIT_KIND_INVALID = -EINVAL,
} InitKind;

/* Where an option's value came from. A value the command line set wins over a settings file's
 * (but for --settings=override), and an untrusted settings file may not set some
 * (spawn-settings.c). */
typedef enum SpawnSource {
        SPAWN_SOURCE_DEFAULT,     /* nobody set it */
        SPAWN_SOURCE_COMMAND_LINE,
        SPAWN_SOURCE_SETTINGS_TRUSTED,    /* NAME.nspawn in /etc or /run/systemd/nspawn, --settings=trusted */
        SPAWN_SOURCE_SETTINGS_UNTRUSTED,  /* NAME.nspawn next to the tree or image */
        SPAWN_SOURCE_OCI_BUNDLE,  /* --oci-bundle's config.json, where the command line left a field unset */
        _SPAWN_SOURCE_MAX,
        _SPAWN_SOURCE_INVALID = -EINVAL,
} SpawnSource;

const char *spawn_source_to_string(SpawnSource s);
SpawnSource spawn_source_from_string(const char *s);

/* One per settable field of SpawnOptions: the index of its source. */
typedef enum SpawnField {
        SPAWN_FIELD_DIRECTORY,
        SPAWN_FIELD_MACHINE,
        SPAWN_FIELD_HOSTNAME,
        SPAWN_FIELD_UUID,
        SPAWN_FIELD_USER,
        SPAWN_FIELD_CHDIR,
        SPAWN_FIELD_SETENV,
        SPAWN_FIELD_COMMAND,
        SPAWN_FIELD_MOUNTS,
        SPAWN_FIELD_CONSOLE_MODE,
        SPAWN_FIELD_KILL_SIGNAL,
        SPAWN_FIELD_BOOT,
        SPAWN_FIELD_LIMITS,
        SPAWN_FIELD_RESOLV_CONF,
        SPAWN_FIELD_TIMEZONE,
        SPAWN_FIELD_NOTIFY_READY,
        SPAWN_FIELD_REGISTER_MODE,
        SPAWN_FIELD_KEEP_UNIT,
        SPAWN_FIELD_SLICE,
        SPAWN_FIELD_RESTART_ON_REBOOT,
        SPAWN_FIELD_AS_PID2,
        SPAWN_FIELD_READ_ONLY,
        SPAWN_FIELD_PRIVATE_NETWORK,
        SPAWN_FIELD_NETWORK_VETH,
        SPAWN_FIELD_NETWORK_POOL,
        SPAWN_FIELD_NETWORK_LINKS,

        SPAWN_FIELD_PORT,
        SPAWN_FIELD_QUIET,
        SPAWN_FIELD_SELINUX_CONTEXT,
        SPAWN_FIELD_SELINUX_APIFS_CONTEXT,
        SPAWN_FIELD_IMAGE,
        SPAWN_FIELD_EPHEMERAL,
        SPAWN_FIELD_VOLATILE,
        SPAWN_FIELD_TEMPLATE,
        SPAWN_FIELD_SYSCALL_FILTER,
        SPAWN_FIELD_NO_NEW_PRIVILEGES,
        SPAWN_FIELD_CAPABILITY,   /* --capability=, --drop-capability=, --ambient-capability= */
        SPAWN_FIELD_RLIMITS,
        SPAWN_FIELD_OOM_SCORE_ADJUST,
        SPAWN_FIELD_CPU_AFFINITY,
        SPAWN_FIELD_PERSONALITY,
        SPAWN_FIELD_SETTINGS,
        SPAWN_FIELD_PRIVATE_USERS,
        SPAWN_FIELD_LINK_JOURNAL,
        SPAWN_FIELD_OCI_BUNDLE,
        _SPAWN_FIELD_MAX,
        _SPAWN_FIELD_INVALID = -EINVAL,
} SpawnField;

/* Intent: what the user asked for, exactly as given (NULL/0/_INVALID: not given, the resolution
 * picks a default). Filled by spawn_options_parse_argv(); read-only afterwards. */
typedef struct SpawnOptions {
        char *directory;          /* as given */
        char *image;              /* -i: a disk image or block device, as given */
        bool ephemeral;           /* -x: run on a throwaway copy (overlay or image copy) */
        VolatileMode volatile_mode;
        char *template_dir;       /* --template=: seeds an empty -D */
        SpawnOverlay *overlays;   /* --overlay=, --overlay-ro= (each also a bind in mounts) */
        size_t n_overlays;
        char *machine;
        char *hostname;
        Id128 uuid;               /* null: random */
        char *user;
        char *chdir;
        char **setenv;            /* NAME=VALUE */
        char **command;           /* NULL → the user's shell; with -b: init's arguments */
        CustomMount *mounts;
        size_t n_mounts;
        ConsoleMode console_mode; /* _CONSOLE_MODE_INVALID: not given */
        int kill_signal;          /* 0: not given */
        bool boot;
        CGroupLimits limits;      /* --property= */
        ResolvConfMode resolv_conf;
        TimezoneMode timezone;
        LinkJournal link_journal;
        bool notify_ready;
        RegisterMode register_mode;
        bool keep_unit;           /* register the cgroup we run in instead of a new scope */
        char *slice;
        bool restart_on_reboot;
        bool as_pid2;
        bool read_only;
        bool private_network;     /* also set by -n */
        bool network_veth;        /* -n: a veth pair ve-NAME/host0, addressed from the pool */
        char *network_pool;       /* --network-address-pool=CIDR, NULL: the default */
        NetworkLinkOptions network_links; /* --network-bridge=, -zone=, -veth-extra=, -macvlan=, ... */

        char *network_pool6;      /* the same option with an IPv6 prefix */
        struct PortForward *ports; /* -p/--port= (spawn-port.h) */
        size_t n_ports;
        bool quiet;
        char *selinux_context;        /* -Z: the payload's process label */
        char *selinux_apifs_context;  /* -L: the label of the API file systems we mount */
        UsernsSpec private_users;     /* -U, --private-users= (issue 10); mode USERNS_NO by default */
        UsernsOwnership private_users_ownership; /* --private-users-ownership=; unset (invalid): auto with pick, else off */
        IsolationOptions isolation;   /* syscall filter, capabilities, limits, devices (issue 10) */
        SettingsMode settings_mode;   /* --settings= */
        char *oci_bundle;             /* --oci-bundle=: the bundle directory, as given */
        struct OciConfig *oci;        /* its config.json (spawn-oci.c); non-NULL: runc's semantics, not a boot */
        SpawnSource source[_SPAWN_FIELD_MAX];
} SpawnOptions;

/* Resolution: what the options mean on this host, probed once before the container starts
 * (spawn-resolve.c). Every consumer reads the effective values from here. */
typedef struct SpawnResolved {
        char *directory;          /* absolute, symlinks resolved; with -i, -x, --volatile on spawn's stage */
        char *image;              /* -i, or the NAME.raw -M NAME alone found */
        char *origin;             /* the -D tree or -i image, absolute: what messages and registration name */
        int image_lock_fd;        /* -i: holds the image's flock for the container's lifetime */
        bool image_read_only;     /* -i: --read-only, or the image is marked read-only */
        char *machine;            /* given, or the directory's name */
        char *hostname;           /* given, or the machine name */
        Id128 uuid;               /* given, or random */
        char **command;           /* the options' command; with -b without the KEY=VALUE words */
        char *init_path;          /* -b: the init found in the tree */
        InitKind init_kind;
        char **init_env;          /* -b: KEY=VALUE arguments, passed as environment */
        char **host_env;          /* container_host_id=... from the host's os-release */
        CGroupMode cgroup_layout; /* what the guest gets mounted on /sys/fs/cgroup */
        ConsoleMode console_mode; /* effective: autopipe and the default decided */
        int kill_signal;
        bool halt_via_initctl;    /* -b with sysvinit and no --kill-signal: telinit 0 */
        bool selinux_enabled;     /* the host has SELinux: /sys/fs/selinux is bound in */
        char *selinux_context;        /* -Z, NULL where SELinux is off and $BERTH_SELINUX_OPTIONAL */
        char *selinux_apifs_context;  /* -L, likewise */
        bool seccomp_disabled;        /* $BERTH_SECCOMP=0, as $SYSTEMD_SECCOMP=0: benchmarks only */
        bool userns;              /* the container gets a user namespace: 0 inside is uid_shift outside */
        uint32_t uid_shift;       /* the range's base (uid and gid alike) */
        uint32_t uid_range;       /* its size */
        int userns_lock_fd;       /* pick/BASE: the range's lock under USERNS_LOCK_DIR; -EBADF otherwise */
        UsernsOwnership ownership;    /* effective: off (nothing to do, or asked), chown (the tree is shifted) or map */
        uint32_t disk_root_uid;   /* the on-disk owner the container's root has in the tree (files spawn creates) */
        int idmap_root_userns_fd; /* map: the user namespace of the tree's ID mapping (the root provider
                                   * makes an idmapped copy of the tree with it, once per boot) */
        int idmap_userns_fd;      /* a user namespace with the container's map, for --bind=...:idmap */
        int *idmap_bind_fds;      /* per opt.mounts[]: rootidmap's own user namespace (source owner -> root), or -EBADF */
        char *journal_bind_source;    /* --link-journal=host: the host's journal directory of the guest, */
        char *journal_bind_target;    /* bound onto this path of the tree; both NULL otherwise */
} SpawnResolved;

/* Where -M NAME finds image NAME when neither -D nor -i is given (as systemd-nspawn). */
#define SPAWN_IMAGE_POOL "/var/lib/machines"

/* The tree or image as the user named it (res.directory may be where spawn assembled it). */
#define spawn_resolved_origin(r) ((r)->origin ?: (r)->directory)

/* Both halves, as the rest of spawn reads them. */
typedef struct SpawnConfig {
        SpawnOptions opt;
        SpawnResolved res;
} SpawnConfig;

void spawn_options_init(SpawnOptions *o);
void spawn_options_done(SpawnOptions *o);
void spawn_resolved_done(SpawnResolved *r);
void spawn_config_init(SpawnConfig *c);
void spawn_config_done(SpawnConfig *c);

/* Replaces *field with a copy of value (NULL: with NULL). Logs out-of-memory. */
int strdup_to(char **field, const char *value);

/* Returns > 0 to continue, 0 to exit successfully (--help, --version), < 0 on error (logged). */
int spawn_options_parse_argv(SpawnOptions *o, int argc, char *argv[]);
/* The same, leaving out the options whose field is in skip[] (indexed by SpawnField; NULL: none):
 * spawn-settings.c replays the command line over a settings file's values this way. */
int spawn_options_parse_argv_skipping(SpawnOptions *o, int argc, char *argv[], const bool *skip);
/* Gives option id (a row of the table) its argument (NULL for an option without one): the one
 * parser behind the command line and settings files. 0 when taken, > 0 when spawn is done (it
 * printed what "help" asked for), < 0 on error (logged: one line). Does not touch source[]. */
int spawn_option_apply(SpawnOptions *o, int id, const char *arg);

/* How a settings file's value becomes the option's argument. */
typedef enum SettingsValue {
        SETTINGS_ARG,             /* the value is the argument (each line one, as each option once) */
        SETTINGS_BOOL,            /* a boolean; for an option without argument: yes gives it, no doesn't */
        SETTINGS_WORDS,           /* a list of words, quotes as systemd's; each word an argument */
        SETTINGS_PREFIX,          /* the key ends in '*': KEY's rest and the value make "REST=VALUE" */
} SettingsValue;

/* Whether an untrusted settings file may set the key (nspawn's merge_settings() decides the same). */
typedef enum SettingsTrust {
        SETTINGS_ANY_FILE,
        SETTINGS_TRUSTED_ONLY,    /* it grants privileges or touches the host */
        SETTINGS_TRUSTED_TO_ALLOW, /* "~LIST" (taking away) from any file, a LIST only from a trusted one */
} SettingsTrust;

/* The command line options, one table from which getopt's arguments, --help and the keys of
 * settings files are made. */
typedef struct SpawnOptionDef {
        const char *heading;      /* non-NULL: no option, starts a --help section ("" = blank line) */
        const char *name;         /* long name */
        char short_name;          /* 0: none */
        int id;                   /* getopt's return value: short_name or an ARG_* above 0xff */
        const char *argument;     /* metavariable in --help; NULL: the option takes no argument */
        bool argument_optional;   /* --name alone is allowed too (--help shows --name[=ARG]) */
        const char *help;         /* "\n" separates lines of the description */
        SpawnField field;         /* what it sets; _SPAWN_FIELD_INVALID for --help, --version */
        const char *settings_key; /* "Section.Key" in NAME.nspawn (spawn-settings.c); NULL: none */
        SettingsValue settings_value;
        SettingsTrust settings_trust;
} SpawnOptionDef;

const SpawnOptionDef *spawn_option_table(size_t *ret_n);
/* getopt_long()'s short option string: "+" then every short option, ':' after those with an
 * argument. */
void spawn_option_short_string(char *buf, size_t size);
/* Writes the --help text to f. */
void spawn_options_help(FILE *f);

/* Fills the resolved half from the options and what the host has; logs one line on error. */
int spawn_resolve(const SpawnOptions *o, SpawnResolved *ret);
