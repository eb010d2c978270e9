/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "name-util.h"
#include "signal-util.h"
#include "spawn-cgroup.h"
#include "spawn-network.h"
#include "spawn-oci.h"
#include "spawn-port.h"
#include "spawn-options.h"
#include "spawn-selinux.h"
#include "string-table.h"

static const char *const console_mode_table[_CONSOLE_MODE_MAX] = {
        [CONSOLE_INTERACTIVE] = "interactive",
        [CONSOLE_READ_ONLY] = "read-only",
        [CONSOLE_PASSIVE] = "passive",
        [CONSOLE_PIPE] = "pipe",
        [CONSOLE_AUTOPIPE] = "autopipe",
};

DEFINE_STRING_TABLE_LOOKUP(console_mode, ConsoleMode)

static const char *const resolv_conf_mode_table[_RESOLV_CONF_MODE_MAX] = {
        [RESOLV_CONF_OFF] = "off",
        [RESOLV_CONF_COPY_HOST] = "copy-host",
        [RESOLV_CONF_BIND_HOST] = "bind-host",
        [RESOLV_CONF_REPLACE_HOST] = "replace-host",
        [RESOLV_CONF_DELETE] = "delete",
        [RESOLV_CONF_AUTO] = "auto",
};

DEFINE_STRING_TABLE_LOOKUP(resolv_conf_mode, ResolvConfMode)

static const char *const timezone_mode_table[_TIMEZONE_MODE_MAX] = {
        [TIMEZONE_OFF] = "off",
        [TIMEZONE_COPY] = "copy",
        [TIMEZONE_BIND] = "bind",
        [TIMEZONE_SYMLINK] = "symlink",
        [TIMEZONE_DELETE] = "delete",
        [TIMEZONE_AUTO] = "auto",
};

DEFINE_STRING_TABLE_LOOKUP(timezone_mode, TimezoneMode)

static const char *const link_journal_table[_LINK_JOURNAL_MAX] = {
        [LINK_JOURNAL_NO] = "no",
        [LINK_JOURNAL_HOST] = "host",
        [LINK_JOURNAL_TRY_HOST] = "try-host",
        [LINK_JOURNAL_GUEST] = "guest",
        [LINK_JOURNAL_TRY_GUEST] = "try-guest",
        [LINK_JOURNAL_AUTO] = "auto",
};

DEFINE_STRING_TABLE_LOOKUP(link_journal, LinkJournal)

static const char *const spawn_source_table[_SPAWN_SOURCE_MAX] = {
        [SPAWN_SOURCE_DEFAULT] = "default",
        [SPAWN_SOURCE_COMMAND_LINE] = "command-line",
        [SPAWN_SOURCE_SETTINGS_TRUSTED] = "settings-trusted",
        [SPAWN_SOURCE_SETTINGS_UNTRUSTED] = "settings-untrusted",
        [SPAWN_SOURCE_OCI_BUNDLE] = "oci-bundle",
};

DEFINE_STRING_TABLE_LOOKUP(spawn_source, SpawnSource)

static const char *const settings_mode_table[_SETTINGS_MODE_MAX] = {
        [SETTINGS_YES] = "yes",
        [SETTINGS_NO] = "no",
        [SETTINGS_TRUSTED] = "trusted",
        [SETTINGS_OVERRIDE] = "override",
};

const char *settings_mode_to_string(SettingsMode m) {
        return m >= 0 && m < _SETTINGS_MODE_MAX ? settings_mode_table[m] : NULL;
}

SettingsMode settings_mode_from_string(const char *s) {
        int b = s ? parse_boolean(s) : -EINVAL;
        if (b >= 0)
                return b ? SETTINGS_YES : SETTINGS_NO;
        for (size_t i = 0; s && i < ELEMENTSOF(settings_mode_table); i++)
                if (streq(s, settings_mode_table[i]))
                        return (SettingsMode) i;
        return _SETTINGS_MODE_INVALID;
}

void spawn_options_init(SpawnOptions *o) {
        *o = (SpawnOptions) {
                .console_mode = _CONSOLE_MODE_INVALID,
                .limits = CGROUP_LIMITS_UNSET,
                .resolv_conf = RESOLV_CONF_AUTO,
                .timezone = TIMEZONE_AUTO,
                .link_journal = LINK_JOURNAL_AUTO,
                .register_mode = REGISTER_AUTO,
                .settings_mode = SETTINGS_YES,
                .private_users_ownership = _USERNS_OWNERSHIP_INVALID,
        };
        isolation_options_init(&o->isolation);
}

void spawn_options_done(SpawnOptions *o) {
        free(o->directory);
        free(o->image);
        free(o->template_dir);
        spawn_overlay_free_all(o->overlays, o->n_overlays);
        free(o->machine);
        free(o->hostname);
        free(o->user);
        free(o->chdir);
        strv_free(o->setenv);
        strv_free(o->command);
        custom_mount_free_all(o->mounts, o->n_mounts);
        free(o->slice);
        free(o->network_pool);
        network_link_options_done(&o->network_links);
        free(o->network_pool6);
        free(o->ports);
        free(o->selinux_context);
        free(o->selinux_apifs_context);
        isolation_options_done(&o->isolation);
        free(o->oci_bundle);
        spawn_oci_config_free(o->oci);
        spawn_options_init(o);
}

void spawn_resolved_done(SpawnResolved *r) {
        free(r->directory);
        free(r->image);
        free(r->origin);
        safe_close(r->image_lock_fd);
        if (r->userns_lock_fd >= 0)
                userns_range_unlock(USERNS_LOCK_DIR, r->uid_shift, r->userns_lock_fd);
        safe_close(r->idmap_root_userns_fd);
        safe_close(r->idmap_userns_fd);
        userns_helpers_reap();
        /* Sized by the options' mounts, which outlive it; -EBADF where a bind has none. */
        for (size_t i = 0; r->idmap_bind_fds && r->idmap_bind_fds[i] != INT_MIN; i++)
                safe_close(r->idmap_bind_fds[i]);
        free(r->idmap_bind_fds);
        free(r->machine);
        free(r->hostname);
        strv_free(r->command);
        free(r->init_path);
        strv_free(r->init_env);
        strv_free(r->host_env);
        free(r->selinux_context);
        free(r->selinux_apifs_context);
        free(r->journal_bind_source);
        free(r->journal_bind_target);
        *r = (SpawnResolved) {
                .console_mode = _CONSOLE_MODE_INVALID,
                .init_kind = _INIT_KIND_INVALID,
                .cgroup_layout = _CGROUP_MODE_INVALID,
                .image_lock_fd = -EBADF,
                .userns_lock_fd = -EBADF,
                .idmap_root_userns_fd = -EBADF,
                .idmap_userns_fd = -EBADF,
        };
}

void spawn_config_init(SpawnConfig *c) {
        spawn_options_init(&c->opt);
        /* No fd yet: spawn_resolved_done() would close whatever fd 0 is, our stdin. */
        c->res = (SpawnResolved) { .image_lock_fd = -EBADF, .userns_lock_fd = -EBADF, .idmap_root_userns_fd = -EBADF,
                                   .idmap_userns_fd = -EBADF };
        spawn_resolved_done(&c->res);
}

void spawn_config_done(SpawnConfig *c) {
        spawn_options_done(&c->opt);
        spawn_resolved_done(&c->res);
}

enum {
        ARG_VERSION = 0x100,
        ARG_HOSTNAME,
        ARG_UUID,
        ARG_CHDIR,
        ARG_BIND,
        ARG_BIND_RO,
        ARG_TMPFS,
        ARG_READ_ONLY,
        ARG_VOLATILE,
        ARG_TEMPLATE,
        ARG_OVERLAY,
        ARG_OVERLAY_RO,
        ARG_PRIVATE_NETWORK,
        ARG_NETWORK_POOL,
        ARG_KILL_SIGNAL,
        ARG_CONSOLE,
        ARG_PROPERTY,
        ARG_NOTIFY_READY,
        ARG_RESTART_ON_REBOOT,
        ARG_RESOLV_CONF,
        ARG_TIMEZONE,
        ARG_LINK_JOURNAL,
        ARG_REGISTER,
        ARG_KEEP_UNIT,
        ARG_SLICE,
        ARG_PRIVATE_USERS,
        ARG_PRIVATE_USERS_OWNERSHIP,
        ARG_SETTINGS,
        ARG_PARAMETERS,           /* a settings file's Parameters=: no option of its own */
        ARG_OCI_BUNDLE,
};

#define HEADING(h) { .heading = (h), .field = _SPAWN_FIELD_INVALID }
/* A row may end in SETTING(): its key in NAME.nspawn files (spawn-settings.c), how the value
 * becomes the argument, and whether an untrusted file may set it. */
#define OPTION(n, s, i, a, f, h, ...) \
        { .name = (n), .short_name = (s), .id = (i), .argument = (a), .field = (f), .help = (h), __VA_ARGS__ }
#define OPTION_OPTIONAL_ARG(n, i, a, f, h, ...) \
        { .name = (n), .id = (i), .argument = (a), .argument_optional = true, .field = (f), .help = (h), __VA_ARGS__ }
#define SETTING(key, value, trust) .settings_key = (key), .settings_value = (value), .settings_trust = (trust)

/* In --help's order. */
static const SpawnOptionDef option_table[] = {
        OPTION("help", 'h', 'h', NULL, _SPAWN_FIELD_INVALID, "Show this help"),
        OPTION("version", 0, ARG_VERSION, NULL, _SPAWN_FIELD_INVALID, "Print version string"),
        OPTION("quiet", 'q', 'q', NULL, SPAWN_FIELD_QUIET, "Do not show status information"),
        HEADING(""),
        OPTION("boot", 'b', 'b', NULL, SPAWN_FIELD_BOOT,
               "Boot the tree's init (arguments go to init;\nKEY=VALUE arguments become its environment)",
               SETTING("Exec.Boot", SETTINGS_BOOL, SETTINGS_ANY_FILE)),
        OPTION("notify-ready", 0, ARG_NOTIFY_READY, "BOOL", SPAWN_FIELD_NOTIFY_READY,
               "Report READY=1 to our own manager only once the\nguest reported it (default: when init starts)",
               SETTING("Exec.NotifyReady", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        OPTION("restart-on-reboot", 0, ARG_RESTART_ON_REBOOT, NULL, SPAWN_FIELD_RESTART_ON_REBOOT,
               "Boot again when the guest reboots instead of\nexiting with 133"),
        HEADING("Image"),
        OPTION("directory", 'D', 'D', "PATH", SPAWN_FIELD_DIRECTORY, "Root directory for the container"),
        OPTION("image", 'i', 'i', "PATH", SPAWN_FIELD_IMAGE,
               "Disk image or block device to boot (GPT by the\nDiscoverable Partitions Specification, MBR, or a\n"
               "bare file system) through a loop device"),
        OPTION("ephemeral", 'x', 'x', NULL, SPAWN_FIELD_EPHEMERAL,
               "Run on a throwaway copy: an overlay over the\ndirectory (upper layer in memory), a copy of an\n"
               "image; gone when the container is",
               SETTING("Exec.Ephemeral", SETTINGS_BOOL, SETTINGS_TRUSTED_ONLY)),
        OPTION("oci-bundle", 0, ARG_OCI_BUNDLE, "PATH", SPAWN_FIELD_OCI_BUNDLE,
               "Run the OCI runtime bundle PATH (its config.json)\nas runc would; command line options win"),
        OPTION("template", 0, ARG_TEMPLATE, "DIR", SPAWN_FIELD_TEMPLATE, "Fill an absent or empty -D directory from DIR"),
        OPTION_OPTIONAL_ARG("volatile", ARG_VOLATILE, "MODE", SPAWN_FIELD_VOLATILE,
               "yes (alone: the same): tmpfs root with /usr from the\ntree; state: tmpfs /var; overlay: tmpfs overlay\nover the tree",
               SETTING("Files.Volatile", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        OPTION("overlay", 0, ARG_OVERLAY, "LOWER[:LOWER...]:UPPER:DEST", SPAWN_FIELD_MOUNTS,
               "Mount an overlay on DEST (empty UPPER: in memory)",
               SETTING("Files.Overlay", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("overlay-ro", 0, ARG_OVERLAY_RO, "LOWER[:LOWER...]:DEST", SPAWN_FIELD_MOUNTS, "Same, read-only",
               SETTING("Files.OverlayReadOnly", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("read-only", 0, ARG_READ_ONLY, NULL, SPAWN_FIELD_READ_ONLY, "Mount the root directory read-only",
               SETTING("Files.ReadOnly", SETTINGS_BOOL, SETTINGS_ANY_FILE)),
        OPTION("settings", 0, ARG_SETTINGS, "MODE", SPAWN_FIELD_SETTINGS,
               "Read NAME.nspawn: yes (default), no, trusted (trust\nit wherever found), override (it wins over the\n"
               "command line)"),
        HEADING("Execution"),
        OPTION("as-pid2", 'a', 'a', NULL, SPAWN_FIELD_AS_PID2, "Run the command as PID 2 under a minimal init",
               SETTING("Exec.ProcessTwo", SETTINGS_BOOL, SETTINGS_ANY_FILE)),
        OPTION("chdir", 0, ARG_CHDIR, "PATH", SPAWN_FIELD_CHDIR, "Working directory inside the container",
               SETTING("Exec.WorkingDirectory", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        OPTION("user", 'u', 'u', "USER", SPAWN_FIELD_USER, "Run the command as this user of the container",
               SETTING("Exec.User", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        OPTION("setenv", 'E', 'E', "NAME=VALUE", SPAWN_FIELD_SETENV, "Pass an environment variable to PID 1",
               SETTING("Exec.Environment", SETTINGS_WORDS, SETTINGS_ANY_FILE)),
        OPTION("kill-signal", 0, ARG_KILL_SIGNAL, "SIGNAL", SPAWN_FIELD_KILL_SIGNAL,
               "Signal sent to PID 1 when spawn is asked to stop\n(default: SIGKILL; with -b the init's halt signal,\n"
               "SIGRTMIN+3 for systemd)",
               SETTING("Exec.KillSignal", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        HEADING("Resources"),
        OPTION("property", 0, ARG_PROPERTY, "NAME=VALUE", SPAWN_FIELD_LIMITS,
               "Limit the container's cgroup, in systemd unit syntax:\nMemoryMax=, CPUQuota=, CPUWeight=, TasksMax=, IOWeight=,\n"
               "DeviceAllow= (a /dev node or char-/block-CLASS, rwm)"),
        HEADING("System identity"),
        OPTION("machine", 'M', 'M', "NAME", SPAWN_FIELD_MACHINE, "Machine name (default: the directory's name)"),
        OPTION("hostname", 0, ARG_HOSTNAME, "NAME", SPAWN_FIELD_HOSTNAME, "Hostname inside the container (default: machine name)",
               SETTING("Exec.Hostname", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        OPTION("uuid", 0, ARG_UUID, "UUID", SPAWN_FIELD_UUID, "Machine UUID (default: random)",
               SETTING("Exec.MachineID", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        HEADING("Networking"),
        OPTION("private-network", 0, ARG_PRIVATE_NETWORK, NULL, SPAWN_FIELD_PRIVATE_NETWORK,
               "Give the container its own network namespace with\nonly a loopback device",
               SETTING("Network.Private", SETTINGS_BOOL, SETTINGS_TRUSTED_ONLY)),
        OPTION("network-veth", 'n', 'n', NULL, SPAWN_FIELD_NETWORK_VETH,
               "Add a veth pair ve-NAME (host) / host0 (container),\naddressed from the pool, with a default route\n(implies --private-network)",
               SETTING("Network.VirtualEthernet", SETTINGS_BOOL, SETTINGS_TRUSTED_ONLY)),
        OPTION("network-address-pool", 0, ARG_NETWORK_POOL, "CIDR", SPAWN_FIELD_NETWORK_POOL,
               "IPv4 pool -n takes a free /28 from (default:\n10.200.0.0/16), or IPv6 pool it takes the /64 of\nthe same index from (default: fd8b:2c3e:4a17::/48)"),
        OPTION("port", 'p', 'p', "[PROTO:]HOST[:CONTAINER]", SPAWN_FIELD_PORT,
               "Forward a TCP (or udp:) port of the host's\naddresses, its localhost included, to the\ncontainer over IPv4 and IPv6 (needs -n;\nwith --network-zone= IPv4 and [::1])",
               SETTING("Network.Port", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        /* Parsed by network_links_parse_option(). */
        OPTION("network-bridge", 0, ARG_NETWORK_BRIDGE, "BRIDGE", SPAWN_FIELD_NETWORK_LINKS,
               "Add a veth pair vb-NAME (host) / host0 (container)\nwith vb-NAME in an existing bridge",
               SETTING("Network.Bridge", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("network-zone", 0, ARG_NETWORK_ZONE, "NAME", SPAWN_FIELD_NETWORK_LINKS,
               "Same, in bridge vz-NAME (made on demand, addressed\nfrom the pool, removed with its last member);\n"
               "host0 gets an address of its subnet",
               SETTING("Network.Zone", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("network-veth-extra", 0, ARG_NETWORK_VETH_EXTRA, "HOST[:CONTAINER]", SPAWN_FIELD_NETWORK_LINKS,
               "Add another veth pair, not configured",
               SETTING("Network.VirtualEthernetExtra", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("network-macvlan", 0, ARG_NETWORK_MACVLAN, "IF", SPAWN_FIELD_NETWORK_LINKS,
               "Add a macvlan mv-IF on host interface IF",
               SETTING("Network.MACVLAN", SETTINGS_WORDS, SETTINGS_TRUSTED_ONLY)),
        OPTION("network-ipvlan", 0, ARG_NETWORK_IPVLAN, "IF", SPAWN_FIELD_NETWORK_LINKS,
               "Add an ipvlan iv-IF on host interface IF",
               SETTING("Network.IPVLAN", SETTINGS_WORDS, SETTINGS_TRUSTED_ONLY)),
        OPTION("network-interface", 0, ARG_NETWORK_INTERFACE, "IF[:NAME]", SPAWN_FIELD_NETWORK_LINKS,
               "Move host interface IF into the container, as NAME\n(moved back on exit, also when spawn is killed)",
               SETTING("Network.Interface", SETTINGS_WORDS, SETTINGS_TRUSTED_ONLY)),
        OPTION("network-namespace-path", 0, ARG_NETWORK_NAMESPACE_PATH, "PATH", SPAWN_FIELD_NETWORK_LINKS,
               "Join this network namespace (a /proc/PID/ns/net\nor a bind mount of one)"),
        HEADING("Mounts"),
        OPTION("bind", 0, ARG_BIND, "SRC[:DST[:OPTS]]", SPAWN_FIELD_MOUNTS,
               "Bind-mount a host path (SRC starting with + is\nrelative to the tree; OPTS: rbind, norbind,\nidmap, rootidmap, noidmap)",
               SETTING("Files.Bind", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("bind-ro", 0, ARG_BIND_RO, "SRC[:DST[:OPTS]]", SPAWN_FIELD_MOUNTS, "Same, read-only",
               SETTING("Files.BindReadOnly", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("tmpfs", 0, ARG_TMPFS, "PATH[:OPTS]", SPAWN_FIELD_MOUNTS, "Mount a tmpfs (default options: mode=0755)",
               SETTING("Files.TemporaryFileSystem", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        HEADING("Registration"),
        OPTION("register", 0, ARG_REGISTER, "MODE", SPAWN_FIELD_REGISTER_MODE,
               "Register with the machine registry (machined):\nyes, no, or auto (default: when one is reachable)"),
        OPTION("keep-unit", 0, ARG_KEEP_UNIT, NULL, SPAWN_FIELD_KEEP_UNIT,
               "Register the cgroup spawn runs in instead of having\nthe registry create machine-NAME.scope"),
        OPTION("slice", 0, ARG_SLICE, "SLICE", SPAWN_FIELD_SLICE, "Slice for the registry to place the scope in"),
        HEADING("Security"),
        OPTION("selinux-context", 'Z', 'Z', "CONTEXT", SPAWN_FIELD_SELINUX_CONTEXT,
               "SELinux process label of the payload (or init)"),
        OPTION("selinux-apifs-context", 'L', 'L', "CONTEXT", SPAWN_FIELD_SELINUX_APIFS_CONTEXT,
               "SELinux label of the API file systems (/dev, /run,\n/tmp, /dev/shm, /dev/pts, --tmpfs=)"),
        OPTION("private-users", 0, ARG_PRIVATE_USERS, "MODE", SPAWN_FIELD_PRIVATE_USERS,
               "User namespace: no, pick (free range), yes (the\ntree owner's), identity, or BASE[:SIZE]",
               SETTING("Exec.PrivateUsers", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION(NULL, 'U', 'U', NULL, SPAWN_FIELD_PRIVATE_USERS,
               "Same as --private-users=pick\n--private-users-ownership=auto"),
        OPTION("private-users-ownership", 0, ARG_PRIVATE_USERS_OWNERSHIP, "MODE", SPAWN_FIELD_PRIVATE_USERS,
               "How the tree's files fit the range: off (as they\nare), chown (shift them once), map (idmapped\nmounts), auto (map, else chown; pick's default)",
               SETTING("Files.PrivateUsersOwnership", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        /* Issue 10; parsed by isolation_parse_option(). */
        OPTION("system-call-filter", 0, ARG_SYSTEM_CALL_FILTER, "[~]LIST", SPAWN_FIELD_SYSCALL_FILTER,
               "Also allow (or with ~, refuse) these system calls or\n@groups (systemd's names; see 'help')",
               SETTING("Exec.SystemCallFilter", SETTINGS_ARG, SETTINGS_TRUSTED_TO_ALLOW)),
        OPTION("no-new-privileges", 0, ARG_NO_NEW_PRIVILEGES, "BOOL", SPAWN_FIELD_NO_NEW_PRIVILEGES,
               "Set the no_new_privs flag for the payload",
               SETTING("Exec.NoNewPrivileges", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        OPTION("capability", 0, ARG_CAPABILITY, "CAPS", SPAWN_FIELD_CAPABILITY, "Keep these capabilities too (names or 'all')",
               SETTING("Exec.Capability", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("drop-capability", 0, ARG_DROP_CAPABILITY, "CAPS", SPAWN_FIELD_CAPABILITY,
               "Drop these capabilities from the default set",
               SETTING("Exec.DropCapability", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        OPTION("ambient-capability", 0, ARG_AMBIENT_CAPABILITY, "CAPS", SPAWN_FIELD_CAPABILITY,
               "Pass these capabilities to a non-root payload",
               SETTING("Exec.AmbientCapability", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("rlimit", 0, ARG_RLIMIT, "NAME=SOFT[:HARD]", SPAWN_FIELD_RLIMITS,
               "Set a resource limit (NOFILE=1024:4096, infinity)",
               SETTING("Exec.Limit*", SETTINGS_PREFIX, SETTINGS_TRUSTED_ONLY)),
        OPTION("oom-score-adjust", 0, ARG_OOM_SCORE_ADJUST, "VALUE", SPAWN_FIELD_OOM_SCORE_ADJUST,
               "The payload's OOM score adjustment (-1000..1000)",
               SETTING("Exec.OOMScoreAdjust", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("cpu-affinity", 0, ARG_CPU_AFFINITY, "CPUS", SPAWN_FIELD_CPU_AFFINITY, "CPUs the payload may run on (0-3,5)",
               SETTING("Exec.CPUAffinity", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        OPTION("personality", 0, ARG_PERSONALITY, "ARCH", SPAWN_FIELD_PERSONALITY, "Architecture the payload sees (x86, x86-64)",
               SETTING("Exec.Personality", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        HEADING("Integration"),
        OPTION("resolv-conf", 0, ARG_RESOLV_CONF, "MODE", SPAWN_FIELD_RESOLV_CONF,
               "off, copy-host, bind-host, replace-host, delete or\nauto (default); help lists them",
               SETTING("Exec.ResolvConf", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        OPTION("timezone", 0, ARG_TIMEZONE, "MODE", SPAWN_FIELD_TIMEZONE, "off, copy, bind, symlink, delete or auto (default);\nhelp lists them",
               SETTING("Exec.Timezone", SETTINGS_ARG, SETTINGS_ANY_FILE)),
        OPTION("link-journal", 0, ARG_LINK_JOURNAL, "MODE", SPAWN_FIELD_LINK_JOURNAL,
               "Link the guest's journal to the host: no, host,\ntry-host, guest, try-guest or auto (default);\n-j is try-guest",
               SETTING("Exec.LinkJournal", SETTINGS_ARG, SETTINGS_TRUSTED_ONLY)),
        HEADING("Input/Output"),
        OPTION("console", 0, ARG_CONSOLE, "MODE", SPAWN_FIELD_CONSOLE_MODE,
               "interactive, read-only, passive, pipe or autopipe\n(default: interactive on a terminal, else read-only)"),
        /* Settings files only: the command's words (no name: not an option, not in --help). */
        OPTION(NULL, 0, ARG_PARAMETERS, "WORDS", SPAWN_FIELD_COMMAND, "",
               SETTING("Exec.Parameters", SETTINGS_WORDS, SETTINGS_ANY_FILE)),
};

const SpawnOptionDef *spawn_option_table(size_t *ret_n) {
        *ret_n = ELEMENTSOF(option_table);
        return option_table;
}

void spawn_option_short_string(char *buf, size_t size) {
        size_t n = 0;

        /* "+": stop at the first non-option, which starts the command line for the container. */
        if (n + 1 < size)
                buf[n++] = '+';
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++) {
                const SpawnOptionDef *d = option_table + i;
                if (d->heading || !d->short_name || n + 3 > size)
                        continue;
                buf[n++] = d->short_name;
                if (d->argument)
                        buf[n++] = ':';
        }
        /* -j, nspawn's short form of --link-journal=try-guest, has no long name of its own. */
        if (n + 1 < size)
                buf[n++] = 'j';
        buf[n] = 0;
}

/* Where descriptions start; a left column wider than this minus two gets a line of its own. */
#define HELP_COLUMN 28

void spawn_options_help(FILE *f) {
        fprintf(f, "%s [OPTIONS...] [COMMAND [ARGS...]]\n\n"
                   "Run a command or OS tree in a light-weight container.\n\n",
                program_invocation_short_name);
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++) {
                const SpawnOptionDef *d = option_table + i;
                if (d->heading) {
                        fprintf(f, "\n%s%s", d->heading, *d->heading ? ":\n" : "");
                        continue;
                }
                if (!d->name && !d->short_name)
                        continue;
                /* A short option without a long name (-U, as nspawn's) stands alone. */
                int w = !d->name ? fprintf(f, "  -%c", d->short_name)
                        : d->short_name ? fprintf(f, "  -%c --%s", d->short_name, d->name) : fprintf(f, "     --%s", d->name);
                if (d->argument)
                        w += fprintf(f, d->argument_optional ? "[=%s]" : "=%s", d->argument);
                if (w > HELP_COLUMN - 2) {
                        fputc('\n', f);
                        w = 0;
                }
                fprintf(f, "%*s", HELP_COLUMN - w, "");
                for (const char *p = d->help; *p; p++) {
                        fputc(*p, f);
                        if (*p == '\n')
                                fprintf(f, "%*s", HELP_COLUMN, "");
                }
                fputc('\n', f);
        }
        fputs("\nPress ^] three times within 1s to kill the container.\n", f);
}

int strdup_to(char **field, const char *value) {
        char *s = value ? strdup(value) : NULL;
        if (value && !s)
                return log_oom();
        free(*field);
        *field = s;
        return 0;
}

/* MODE=help: the modes one per line, as nspawn prints them; spawn then exits 0. */
static int dump_modes(const char *const *table, size_t n) {
        for (size_t i = 0; i < n; i++)
                puts(table[i]);
        return 1;
}

/* -U, --private-users=, --private-users-ownership=. */
static int parse_private_users(SpawnOptions *c, int opt, const char *arg) {
        int r;

        if (opt == 'U') {
                c->private_users = (UsernsSpec) { .mode = USERNS_PICK, .size = USERNS_RANGE_SIZE };
                return 0;
        }
        if (opt == ARG_PRIVATE_USERS) {
                r = userns_spec_parse(arg, &c->private_users);
                if (r < 0)
                        return log_error_errno(r, "Invalid --private-users= value '%s' (want no, yes, pick, identity or BASE[:SIZE]).", arg);
                return 0;
        }
        c->private_users_ownership = userns_ownership_from_string(arg);
        if (c->private_users_ownership < 0)
                return log_error_errno(EINVAL, "Invalid --private-users-ownership= value '%s' (want off, chown, map or auto).", arg);
        return 0;
}

/* --link-journal=MODE, or -j (arg NULL: try-guest). */
static int parse_link_journal(SpawnOptions *c, const char *arg) {
        if (!arg) {
                c->link_journal = LINK_JOURNAL_TRY_GUEST;
                return 0;
        }
        if (streq(arg, "help"))
                return dump_modes(link_journal_table, ELEMENTSOF(link_journal_table));
        c->link_journal = link_journal_from_string(arg);
        if (c->link_journal < 0)
                return log_error_errno(EINVAL, "Unknown --link-journal= mode '%s'.", arg);
        return 0;
}

/* --network-address-pool= (either family) and -p/--port=. */
static int parse_network(SpawnOptions *c, int opt, const char *arg) {
        int r;

        switch (opt) {
        case ARG_NETWORK_POOL:
                if (strchr(arg, ':')) {
                        if (network_pool6_parse(arg, NULL, NULL) < 0)
                                return log_error_errno(EINVAL, "Invalid address pool '%s': want an IPv6 PREFIX/N with N at most 64.", arg);
                        return strdup_to(&c->network_pool6, arg);
                }
                r = network_pool_parse(arg, NULL, NULL);
                if (r < 0)
                        return log_error_errno(r, "Invalid address pool '%s': want an IPv4 A.B.C.D/N with N at most 28.", arg);
                return strdup_to(&c->network_pool, arg);
        case 'p': {
                PortForward p;
                if (port_forward_parse(arg, &p) < 0)
                        return log_error_errno(EINVAL, "Invalid port forward '%s': want [tcp|udp:]HOST[:CONTAINER] with ports 1-65535.", arg);
                r = port_forward_append(&c->ports, &c->n_ports, &p);
                if (r == -EEXIST)
                        return log_error_errno(r, "Port %s %u is forwarded twice.", port_protocol_to_string(p.protocol), (unsigned) p.host_port);
                return r < 0 ? log_oom() : 0;
        }
        default:
                return -EINVAL;
        }
}

/* Returns 0 when the option was taken, > 0 when spawn is done (it printed what was asked for),
 * < 0 on error (logged). */
static int parse_one(SpawnOptions *c, int opt, const char *arg) {
        CustomMount m;
        int r;

        switch (opt) {
        case 'D':
                return strdup_to(&c->directory, arg);
        case 'i':
                return strdup_to(&c->image, arg);
        case 'x':
                c->ephemeral = true;
                return 0;
        case ARG_VOLATILE:
                /* As nspawn: --volatile alone means yes. */
                c->volatile_mode = arg ? volatile_mode_from_string(arg) : VOLATILE_YES;
                if (c->volatile_mode < 0)
                        return log_error_errno(EINVAL, "Unknown volatile mode '%s' (want yes, no, state or overlay).", arg);
                return 0;
        case ARG_TEMPLATE:
                return strdup_to(&c->template_dir, arg);
        case ARG_OVERLAY:
        case ARG_OVERLAY_RO:
                return spawn_overlay_parse(c, arg, opt == ARG_OVERLAY_RO);
        case 'M':
                if (!machine_name_is_valid(arg))
                        return log_error_errno(EINVAL, "Invalid machine name: '%s'.", arg);
                return strdup_to(&c->machine, arg);
        case ARG_HOSTNAME:
                if (!hostname_is_valid(arg))
                        return log_error_errno(EINVAL, "Invalid hostname: '%s'.", arg);
                return strdup_to(&c->hostname, arg);
        case ARG_UUID:
                if (id128_from_string(arg, &c->uuid) < 0 || id128_is_null(&c->uuid))
                        return log_error_errno(EINVAL, "Invalid UUID: '%s'.", arg);
                return 0;
        case 'u':
                if (isempty(arg))
                        return log_error_errno(EINVAL, "Empty user name.");
                return strdup_to(&c->user, arg);
        case ARG_CHDIR:
                if (!path_is_normalized_absolute(arg))
                        return log_error_errno(EINVAL, "Working directory must be an absolute path: '%s'.", arg);
                return strdup_to(&c->chdir, arg);
        case 'E':
                if (!env_assignment_is_valid(arg))
                        return log_error_errno(EINVAL, "Invalid environment assignment (want NAME=VALUE): '%s'.", arg);
                return strv_env_set(&c->setenv, arg) < 0 ? log_oom() : 0;
        case 'a':
                c->as_pid2 = true;
                return 0;
        case ARG_BIND:
        case ARG_BIND_RO:
                r = custom_mount_parse_bind(arg, opt == ARG_BIND_RO, &m);
                if (r < 0)
                        return log_error_errno(r, "Invalid bind mount specification '%s': %s", arg,
                                               r == -ENOMEM ? "out of memory" :
                                               "want SRC[:DST[:rbind|norbind]] with absolute paths.");
                return custom_mount_append(&c->mounts, &c->n_mounts, &m) < 0 ? log_oom() : 0;
        case ARG_TMPFS:
                r = custom_mount_parse_tmpfs(arg, &m);
                if (r < 0)
                        return log_error_errno(r, "Invalid tmpfs specification '%s': want an absolute PATH[:OPTIONS].", arg);
                return custom_mount_append(&c->mounts, &c->n_mounts, &m) < 0 ? log_oom() : 0;
        case ARG_READ_ONLY:
                c->read_only = true;
                return 0;
        case ARG_PRIVATE_NETWORK:
                c->private_network = true;
                return 0;
        case 'n':
                c->network_veth = c->private_network = true;
                return 0;
        case ARG_NETWORK_POOL:
        case 'p':
                return parse_network(c, opt, arg);
        case ARG_KILL_SIGNAL:
                r = signal_from_string(arg);
                if (r < 0)
                        return log_error_errno(EINVAL, "Unknown signal: '%s'.", arg);
                c->kill_signal = r;
                return 0;
        case ARG_CONSOLE:
                c->console_mode = console_mode_from_string(arg);
                if (c->console_mode < 0)
                        return log_error_errno(EINVAL, "Unknown console mode '%s' (want interactive, read-only, passive, pipe or autopipe).", arg);
                return 0;
        case 'q':
                c->quiet = true;
                return 0;
        case 'b':
                c->boot = true;
                return 0;
        case ARG_PROPERTY:
                r = isolation_parse_property(&c->isolation, arg);
                if (r != -EOPNOTSUPP)
                        return r;
                r = cg_limits_parse_property(&c->limits, arg);
                if (r == -EOPNOTSUPP)
                        return log_error_errno(r, "Unsupported property '%s' (supported: MemoryMax=, CPUQuota=, CPUWeight=, TasksMax=, IOWeight=, DeviceAllow=).", arg);
                if (r < 0)
                        return log_error_errno(r, "Invalid property assignment '%s'.", arg);
                return 0;
        case ARG_NOTIFY_READY:
                r = parse_boolean(arg);
                if (r < 0)
                        return log_error_errno(r, "Invalid --notify-ready= value '%s' (want yes or no).", arg);
                c->notify_ready = r;
                return 0;
        case ARG_RESTART_ON_REBOOT:
                c->restart_on_reboot = true;
                return 0;
        case ARG_RESOLV_CONF:
                if (streq(arg, "help"))
                        return dump_modes(resolv_conf_mode_table, ELEMENTSOF(resolv_conf_mode_table));
                c->resolv_conf = resolv_conf_mode_from_string(arg);
                if (c->resolv_conf < 0)
                        return log_error_errno(EINVAL, "Unknown --resolv-conf= mode '%s'.", arg);
                return 0;
        case ARG_REGISTER:
                c->register_mode = register_mode_from_string(arg);
                if (c->register_mode < 0)
                        return log_error_errno(EINVAL, "Invalid --register= value '%s' (want yes, no or auto).", arg);
                return 0;
        case ARG_KEEP_UNIT:
                c->keep_unit = true;
                return 0;
        case ARG_SLICE:
                if (isempty(arg) || strchr(arg, '/') || !startswith(arg + strlen(arg) - MIN(strlen(arg), strlen(".slice")), ".slice"))
                        return log_error_errno(EINVAL, "Invalid slice name '%s' (want NAME.slice).", arg);
                return strdup_to(&c->slice, arg);
        case 'Z':
        case 'L':
                if (!selinux_context_is_valid(arg))
                        return log_error_errno(EINVAL, "Invalid SELinux context '%s' (want USER:ROLE:TYPE[:RANGE]).", arg);
                return strdup_to(opt == 'Z' ? &c->selinux_context : &c->selinux_apifs_context, arg);
        case 'j':
        case ARG_LINK_JOURNAL:
                return parse_link_journal(c, arg);
        case ARG_TIMEZONE:
                if (streq(arg, "help"))
                        return dump_modes(timezone_mode_table, ELEMENTSOF(timezone_mode_table));
                c->timezone = timezone_mode_from_string(arg);
                if (c->timezone < 0)
                        return log_error_errno(EINVAL, "Unknown --timezone= mode '%s'.", arg);
                return 0;
        }
        return log_error_errno(EINVAL, "Unhandled option.");
}


static const SpawnOptionDef *option_by_id(int id) {
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                if (!option_table[i].heading && option_table[i].id == id)
                        return option_table + i;
        return NULL;
}

/* The field option id sets; -j has no row of its own. */
static SpawnField option_field(int id) {
        const SpawnOptionDef *d = id == 'j' ? option_by_id(ARG_LINK_JOURNAL) : option_by_id(id);
        return d ? d->field : _SPAWN_FIELD_INVALID;
}

int spawn_option_apply(SpawnOptions *o, int id, const char *arg) {
        int r;

        switch (id) {
        case ARG_SYSTEM_CALL_FILTER ... ARG_PERSONALITY:
                /* 0 from it: "help" listed the names. */
                r = isolation_parse_option(&o->isolation, id, arg);
                return r < 0 ? r : r == 0 ? 1 : 0;
        case 'U':
        case ARG_PRIVATE_USERS:
        case ARG_PRIVATE_USERS_OWNERSHIP:
                return parse_private_users(o, id, arg);
        case ARG_NETWORK_BRIDGE ... ARG_NETWORK_NAMESPACE_PATH:
                r = network_links_parse_option(&o->network_links, id, arg);
                if (r < 0)
                        return r;
                /* Every one of them but a namespace to join makes the container's own. */
                if (id != ARG_NETWORK_NAMESPACE_PATH)
                        o->private_network = true;
                return 0;
        case ARG_SETTINGS:
                o->settings_mode = settings_mode_from_string(arg);
                if (o->settings_mode < 0)
                        return log_error_errno(EINVAL, "Invalid --settings= value '%s' (want yes, no, trusted or override).", arg);
                return 0;
        case ARG_PARAMETERS:
                return strv_extend(&o->command, arg) < 0 ? log_oom() : 0;
        case ARG_OCI_BUNDLE:
                /* Loaded once the whole command line is known (spawn_oci_apply()). */
                return strdup_to(&o->oci_bundle, arg);
        default:
                return parse_one(o, id, arg);
        }
}

int spawn_options_parse_argv_skipping(SpawnOptions *o, int argc, char *argv[], const bool *skip) {
        struct option options[ELEMENTSOF(option_table) + 1] = {};
        char short_options[2 * ELEMENTSOF(option_table) + 2];
        size_t n = 0;
        int opt, r;

        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                if (option_table[i].name)
                        options[n++] = (struct option) {
                                .name = option_table[i].name,
                                .has_arg = !option_table[i].argument ? no_argument :
                                           option_table[i].argument_optional ? optional_argument : required_argument,
                                .val = option_table[i].id,
                        };
        spawn_option_short_string(short_options, sizeof(short_options));

        /* getopt prints its own complaints; ours are one line each, so silence it. optind 0: a
         * full rescan, this may be the second pass over the same argv. */
        opterr = 0;
        optind = 0;
        while ((opt = getopt_long(argc, argv, short_options, options, NULL)) >= 0) {
                switch (opt) {
                case 'h':
                        spawn_options_help(stdout);
                        return 0;
                case ARG_VERSION:
                        printf("berth spawn %s\n", BERTH_VERSION);
                        return 0;
                case '?':
                        if (optopt)
                                return log_error_errno(EINVAL, "Unknown option -%c or missing argument (see --help).", optopt);
                        return log_error_errno(EINVAL, "Unknown option or missing argument: '%s' (see --help).", argv[optind - 1]);
                }
                SpawnField f = option_field(opt);
                if (skip && f >= 0 && skip[f])
                        continue;
                r = spawn_option_apply(o, opt, optarg);
                if (r != 0)
                        return r < 0 ? r : 0;
                if (f >= 0)
                        o->source[f] = SPAWN_SOURCE_COMMAND_LINE;
        }

        if (optind < argc && !(skip && skip[SPAWN_FIELD_COMMAND])) {
                o->command = strv_copy(argv + optind);
                if (!o->command)
                        return log_oom();
                o->source[SPAWN_FIELD_COMMAND] = SPAWN_SOURCE_COMMAND_LINE;
        }
        return 1;
}

int spawn_options_parse_argv(SpawnOptions *o, int argc, char *argv[]) {
        return spawn_options_parse_argv_skipping(o, argc, argv, NULL);
}
