/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
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
#include "os-release.h"
#include "signal-util.h"
#include "spawn-cgroup.h"
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

void spawn_config_init(SpawnConfig *c) {
        *c = (SpawnConfig) {
                .console_mode = _CONSOLE_MODE_INVALID,
                .limits = CGROUP_LIMITS_UNSET,
                .cgroup_layout = _CGROUP_MODE_INVALID,
                .resolv_conf = RESOLV_CONF_AUTO,
                .timezone = TIMEZONE_AUTO,
                .init_kind = _INIT_KIND_INVALID,
                .register_mode = REGISTER_AUTO,
        };
}

void spawn_config_done(SpawnConfig *c) {
        free(c->directory);
        free(c->machine);
        free(c->hostname);
        free(c->user);
        free(c->chdir);
        strv_free(c->setenv);
        strv_free(c->command);
        custom_mount_free_all(c->mounts, c->n_mounts);
        free(c->init_path);
        free(c->slice);
        strv_free(c->init_env);
        free(c->selinux_context);
        free(c->selinux_apifs_context);
        spawn_config_init(c);
}

static void help(void) {
        printf("%s [OPTIONS...] [COMMAND [ARGS...]]\n\n"
               "Run a command or OS tree in a light-weight container.\n\n"
               "  -h --help                 Show this help\n"
               "     --version              Print version string\n"
               "  -q --quiet                Do not show status information\n\n"
               "  -b --boot                 Boot the tree's init (arguments go to init;\n"
               "                            KEY=VALUE arguments become its environment)\n"
               "     --notify-ready=BOOL    Report READY=1 to our own manager only once the\n"
               "                            guest reported it (default: when init starts)\n"
               "     --restart-on-reboot    Boot again when the guest reboots instead of\n"
               "                            exiting with 133\n\n"
               "Image:\n"
               "  -D --directory=PATH       Root directory for the container\n"
               "     --read-only            Mount the root directory read-only\n\n"
               "Execution:\n"
               "  -a --as-pid2              Run the command as PID 2 under a minimal init\n"
               "     --chdir=PATH           Working directory inside the container\n"
               "  -u --user=USER            Run the command as this user of the container\n"
               "  -E --setenv=NAME=VALUE    Pass an environment variable to PID 1\n"
               "     --kill-signal=SIGNAL   Signal sent to PID 1 when spawn is asked to stop\n"
               "                            (default: SIGKILL; with -b the init's halt signal,\n"
               "                            SIGRTMIN+3 for systemd)\n\n"
               "Resources:\n"
               "     --property=NAME=VALUE  Limit the container's cgroup, in systemd unit syntax:\n"
               "                            MemoryMax=, CPUQuota=, CPUWeight=, TasksMax=, IOWeight=\n\n"
               "System identity:\n"
               "  -M --machine=NAME         Machine name (default: the directory's name)\n"
               "     --hostname=NAME        Hostname inside the container (default: machine name)\n"
               "     --uuid=UUID            Machine UUID (default: random)\n\n"
               "Networking:\n"
               "     --private-network      Give the container its own network namespace with\n"
               "                            only a loopback device\n\n"
               "Mounts:\n"
               "     --bind=SRC[:DST[:OPTS]]\n"
               "                            Bind-mount a host path (SRC starting with + is\n"
               "                            relative to the tree; OPTS: rbind, norbind)\n"
               "     --bind-ro=SRC[:DST[:OPTS]]\n"
               "                            Same, read-only\n"
               "     --tmpfs=PATH[:OPTS]    Mount a tmpfs (default options: mode=0755)\n\n"
               "Registration:\n"
               "     --register=MODE        Register with the machine registry (machined):\n"
               "                            yes, no, or auto (default: when one is reachable)\n"
               "     --keep-unit            Register the cgroup spawn runs in instead of having\n"
               "                            the registry create machine-NAME.scope\n"
               "     --slice=SLICE          Slice for the registry to place the scope in\n\n"
               "Security:\n"
               "  -Z --selinux-context=CONTEXT\n"
               "                            SELinux process label of the payload (or init)\n"
               "  -L --selinux-apifs-context=CONTEXT\n"
               "                            SELinux label of the API file systems (/dev, /run,\n"
               "                            /tmp, /dev/shm, /dev/pts, --tmpfs=)\n\n"
               "Integration:\n"
               "     --resolv-conf=MODE     off, copy-host, bind-host, replace-host, delete or\n"
               "                            auto (default)\n"
               "     --timezone=MODE        off, copy, bind, symlink, delete or auto (default)\n\n"
               "Input/Output:\n"
               "     --console=MODE         interactive, read-only, passive, pipe or autopipe\n"
               "                            (default: interactive on a terminal, else read-only)\n\n"
               "Press ^] three times within 1s to kill the container.\n",
               program_invocation_short_name);
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
        ARG_PRIVATE_NETWORK,
        ARG_KILL_SIGNAL,
        ARG_CONSOLE,
        ARG_PROPERTY,
        ARG_NOTIFY_READY,
        ARG_RESTART_ON_REBOOT,
        ARG_RESOLV_CONF,
        ARG_TIMEZONE,
        ARG_REGISTER,
        ARG_KEEP_UNIT,
        ARG_SLICE,
};

static int set_string(char **field, const char *value) {
        char *s = strdup(value);
        if (!s)
                return log_oom();
        free(*field);
        *field = s;
        return 0;
}

static int parse_one(SpawnConfig *c, int opt, const char *arg) {
        CustomMount m;
        int r;

        switch (opt) {
        case 'D':
                return set_string(&c->directory, arg);
        case 'M':
                if (!machine_name_is_valid(arg))
                        return log_error_errno(EINVAL, "Invalid machine name: '%s'.", arg);
                return set_string(&c->machine, arg);
        case ARG_HOSTNAME:
                if (!hostname_is_valid(arg))
                        return log_error_errno(EINVAL, "Invalid hostname: '%s'.", arg);
                return set_string(&c->hostname, arg);
        case ARG_UUID:
                if (id128_from_string(arg, &c->uuid) < 0 || id128_is_null(&c->uuid))
                        return log_error_errno(EINVAL, "Invalid UUID: '%s'.", arg);
                return 0;
        case 'u':
                if (isempty(arg))
                        return log_error_errno(EINVAL, "Empty user name.");
                return set_string(&c->user, arg);
        case ARG_CHDIR:
                if (!path_is_normalized_absolute(arg))
                        return log_error_errno(EINVAL, "Working directory must be an absolute path: '%s'.", arg);
                return set_string(&c->chdir, arg);
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
                r = cg_limits_parse_property(&c->limits, arg);
                if (r == -EOPNOTSUPP)
                        return log_error_errno(r, "Unsupported property '%s' (supported: MemoryMax=, CPUQuota=, CPUWeight=, TasksMax=, IOWeight=).", arg);
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
                return set_string(&c->slice, arg);
        case 'Z':
        case 'L':
                if (!selinux_context_is_valid(arg))
                        return log_error_errno(EINVAL, "Invalid SELinux context '%s' (want USER:ROLE:TYPE[:RANGE]).", arg);
                return set_string(opt == 'Z' ? &c->selinux_context : &c->selinux_apifs_context, arg);
        case ARG_TIMEZONE:
                c->timezone = timezone_mode_from_string(arg);
                if (c->timezone < 0)
                        return log_error_errno(EINVAL, "Unknown --timezone= mode '%s'.", arg);
                return 0;
        }
        return log_error_errno(EINVAL, "Unhandled option.");
}

int spawn_config_parse_argv(SpawnConfig *c, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h'                 },
                { "version",         no_argument,       NULL, ARG_VERSION         },
                { "quiet",           no_argument,       NULL, 'q'                 },
                { "directory",       required_argument, NULL, 'D'                 },
                { "machine",         required_argument, NULL, 'M'                 },
                { "hostname",        required_argument, NULL, ARG_HOSTNAME        },
                { "uuid",            required_argument, NULL, ARG_UUID            },
                { "user",            required_argument, NULL, 'u'                 },
                { "chdir",           required_argument, NULL, ARG_CHDIR           },
                { "setenv",          required_argument, NULL, 'E'                 },
                { "as-pid2",         no_argument,       NULL, 'a'                 },
                { "bind",            required_argument, NULL, ARG_BIND            },
                { "bind-ro",         required_argument, NULL, ARG_BIND_RO         },
                { "tmpfs",           required_argument, NULL, ARG_TMPFS           },
                { "read-only",       no_argument,       NULL, ARG_READ_ONLY       },
                { "private-network", no_argument,       NULL, ARG_PRIVATE_NETWORK },
                { "kill-signal",     required_argument, NULL, ARG_KILL_SIGNAL     },
                { "console",         required_argument, NULL, ARG_CONSOLE         },
                { "boot",            no_argument,       NULL, 'b'                 },
                { "property",        required_argument, NULL, ARG_PROPERTY        },
                { "notify-ready",    required_argument, NULL, ARG_NOTIFY_READY    },
                { "restart-on-reboot", no_argument,     NULL, ARG_RESTART_ON_REBOOT },
                { "resolv-conf",     required_argument, NULL, ARG_RESOLV_CONF     },
                { "timezone",        required_argument, NULL, ARG_TIMEZONE        },
                { "register",        required_argument, NULL, ARG_REGISTER        },
                { "keep-unit",       no_argument,       NULL, ARG_KEEP_UNIT       },
                { "slice",           required_argument, NULL, ARG_SLICE           },
                { "selinux-context", required_argument, NULL, 'Z'                 },
                { "selinux-apifs-context", required_argument, NULL, 'L'           },
                {}
        };
        int opt, r;

        /* getopt prints its own complaints; ours are one line each, so silence it. */
        opterr = 0;
        /* "+": stop at the first non-option, which starts the command line for the container. */
        while ((opt = getopt_long(argc, argv, "+hqD:M:u:E:abZ:L:", options, NULL)) >= 0) {
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("berth spawn %s\n", BERTH_VERSION);
                        return 0;
                case '?':
                        if (optopt)
                                return log_error_errno(EINVAL, "Unknown option -%c or missing argument (see --help).", optopt);
                        return log_error_errno(EINVAL, "Unknown option or missing argument: '%s' (see --help).", argv[optind - 1]);
                default:
                        r = parse_one(c, opt, optarg);
                        if (r < 0)
                                return r;
                }
        }

        if (optind < argc) {
                c->command = strv_copy(argv + optind);
                if (!c->command)
                        return log_oom();
        }
        return 1;
}

static int verify_directory(SpawnConfig *c) {
        struct stat st;

        if (!c->directory)
                return log_error_errno(EINVAL, "No container tree given; use -D/--directory=PATH.");
        if (stat(c->directory, &st) < 0)
                return log_error_errno(errno, "Container tree %s: %m", c->directory);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "Container tree %s is not a directory.", c->directory);

        char *abs = realpath(c->directory, NULL);
        if (!abs)
                return log_error_errno(errno, "Failed to resolve %s: %m", c->directory);
        free(c->directory);
        c->directory = abs;

        if (streq(c->directory, "/"))
                return log_error_errno(EINVAL, "Refusing to use the host's root directory as a container tree.");

        /* Resolved inside the tree: a /usr symlink pointing out of it does not count. */
        _cleanup_close_ int rootfd = open(c->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", c->directory);
        _cleanup_close_ int usrfd = open_in_root(rootfd, "/usr", O_PATH | O_DIRECTORY, 0);
        if (usrfd < 0)
                return log_error_errno(usrfd, "Directory %s doesn't look like an OS tree (no /usr directory).", c->directory);
        return 0;
}

static int verify_mount_sources(const SpawnConfig *c) {
        for (size_t i = 0; i < c->n_mounts; i++) {
                const CustomMount *m = c->mounts + i;
                if (m->type != CUSTOM_MOUNT_BIND || m->source[0] == '+')
                        continue;
                if (access(m->source, F_OK) < 0)
                        return log_error_errno(errno, "Bind mount source %s: %m", m->source);
        }
        return 0;
}

/* The tree's init, in systemd-nspawn's order of preference. */
static int find_init(SpawnConfig *c, int rootfd) {
        static const char *const candidates[] = {
                "/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/sbin/init", "/usr/sbin/init", "/bin/init",
        };
        struct stat st, bb;

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                _cleanup_close_ int fd = open_in_root(rootfd, candidates[i], O_PATH, 0);
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                        continue;
                if (set_string(&c->init_path, candidates[i]) < 0)
                        return -ENOMEM;
                c->init_kind = i < 2 ? INIT_SYSTEMD : INIT_OTHER;
                /* busybox's init is the busybox binary itself; it halts on SIGUSR2, not SIGRTMIN+3. */
                static const char *const busybox[] = { "/bin/busybox", "/usr/bin/busybox", "/sbin/busybox" };
                for (size_t j = 0; c->init_kind == INIT_OTHER && j < ELEMENTSOF(busybox); j++) {
                        _cleanup_close_ int b = open_in_root(rootfd, busybox[j], O_PATH, 0);
                        if (b >= 0 && fstat(b, &bb) >= 0 && bb.st_dev == st.st_dev && bb.st_ino == st.st_ino)
                                c->init_kind = INIT_BUSYBOX;
                }
                /* sysvinit reads its inittab; it halts through /run/initctl. */
                _cleanup_close_ int inittab = -EBADF;
                if (c->init_kind == INIT_OTHER && (inittab = open_in_root(rootfd, "/etc/inittab", O_PATH, 0)) >= 0)
                        c->init_kind = INIT_SYSV;
                return 0;
        }
        return log_error_errno(ENOENT, "No init found in %s (looked for /usr/lib/systemd/systemd, /lib/systemd/systemd, /sbin/init); cannot boot it.", c->directory);
}

/* -b: KEY=VALUE arguments whose key has no dot become init's environment, as the kernel does
 * with its command line; everything else is passed on to init. */
static int split_init_arguments(SpawnConfig *c) {
        _cleanup_strv_free_ char **args = NULL;

        for (char **a = c->command; a && *a; a++) {
                const char *eq = strchr(*a, '=');
                if (eq && !memchr(*a, '.', (size_t) (eq - *a)) && env_assignment_is_valid(*a)) {
                        if (strv_env_set(&c->init_env, *a) < 0)
                                return log_oom();
                } else if (strv_extend(&args, *a) < 0)
                        return log_oom();
        }
        strv_free(c->command);
        c->command = TAKE_PTR(args);
        return 0;
}

static int verify_boot(SpawnConfig *c) {
        int r;

        if (c->as_pid2)
                return log_error_errno(EINVAL, "--boot and --as-pid2 exclude each other.");
        if (c->user)
                return log_error_errno(EINVAL, "--user= is not supported with --boot; the guest's init runs as root.");

        _cleanup_close_ int rootfd = open(c->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", c->directory);
        _cleanup_close_ int osr = os_release_open(rootfd);
        if (osr == -ENOENT)
                return log_error_errno(ENOENT, "Directory %s has no /etc/os-release or /usr/lib/os-release; refusing to boot something that is not an OS tree.", c->directory);
        if (osr < 0)
                return log_error_errno(osr, "Failed to open the os-release file of %s: %m", c->directory);

        r = find_init(c, rootfd);
        if (r < 0)
                return r;
        return split_init_arguments(c);
}

/* Labels are applied only where SELinux is: with it disabled, asking for a label is an error unless
 * $BERTH_SELINUX_OPTIONAL=1 says the same command line is meant for hosts with and without it. */
static int verify_selinux(SpawnConfig *c) {
        const char *const labels[] = { c->selinux_context, c->selinux_apifs_context };
        const char *const names[] = { "--selinux-context", "--selinux-apifs-context" };
        int r;

        c->selinux_enabled = selinux_host_enabled();
        if (!c->selinux_context && !c->selinux_apifs_context)
                return 0;
        if (!c->selinux_enabled) {
                const char *opt = getenv("BERTH_SELINUX_OPTIONAL");
                if (!isempty(opt) && parse_boolean(opt) > 0) {
                        if (!c->quiet)
                                log_warning("SELinux is not enabled on this host; ignoring the requested labels.");
                        free(c->selinux_context);
                        free(c->selinux_apifs_context);
                        c->selinux_context = c->selinux_apifs_context = NULL;
                        return 0;
                }
                return log_error_errno(EOPNOTSUPP, "SELinux is not enabled on this host (no selinuxfs at %s); cannot apply %s=.",
                                       SELINUXFS_PATH, c->selinux_context ? names[0] : names[1]);
        }
        for (size_t i = 0; i < ELEMENTSOF(labels); i++) {
                if (!labels[i])
                        continue;
                r = selinux_context_check(labels[i]);
                if (r == -EINVAL)
                        return log_error_errno(r, "SELinux context '%s' (%s=) is not valid in the loaded policy.", labels[i], names[i]);
                if (r < 0)
                        return log_error_errno(r, "Failed to check SELinux context '%s': %m", labels[i]);
        }
        return 0;
}

int spawn_config_verify(SpawnConfig *c) {
        int r;

        if (geteuid() != 0)
                return log_error_errno(EPERM, "Need to be root.");

        r = verify_directory(c);
        if (r < 0)
                return r;

        if (!c->machine) {
                const char *base = strrchr(c->directory, '/') + 1;
                if (!machine_name_is_valid(base))
                        return log_error_errno(EINVAL, "Directory name '%s' is not a valid machine name; pass -M/--machine=NAME.", base);
                if (set_string(&c->machine, base) < 0)
                        return -ENOMEM;
        }
        if (!c->hostname && set_string(&c->hostname, c->machine) < 0)
                return -ENOMEM;

        if (id128_is_null(&c->uuid)) {
                r = id128_randomize(&c->uuid);
                if (r < 0)
                        return log_error_errno(r, "Failed to generate a machine UUID: %m");
        }

        r = verify_mount_sources(c);
        if (r < 0)
                return r;

        r = verify_selinux(c);
        if (r < 0)
                return r;

        if (c->boot) {
                r = verify_boot(c);
                if (r < 0)
                        return r;
        }

        CGroupMode host;
        r = cg_detect_mode(&host);
        if (r < 0)
                return log_error_errno(r, "Failed to detect the host's cgroup mode (is /sys/fs/cgroup mounted?): %m");
        /* $BERTH_CGROUP_LAYOUT overrides the choice (like nspawn's
         * $SYSTEMD_NSPAWN_UNIFIED_HIERARCHY), for guests whose needs we cannot detect. */
        const char *layout = getenv("BERTH_CGROUP_LAYOUT");
        if (!isempty(layout)) {
                c->cgroup_layout = cgroup_mode_from_string(layout);
                if (c->cgroup_layout < 0)
                        return log_error_errno(EINVAL, "Invalid $BERTH_CGROUP_LAYOUT '%s' (want unified, hybrid or legacy).", layout);
        } else {
                r = spawn_cgroup_pick_layout(c->directory, host, &c->cgroup_layout);
                if (r < 0)
                        return r;
        }

        bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        if (c->console_mode < 0)
                c->console_mode = tty ? CONSOLE_INTERACTIVE : CONSOLE_READ_ONLY;
        else if (c->console_mode == CONSOLE_AUTOPIPE)
                c->console_mode = tty ? CONSOLE_INTERACTIVE : CONSOLE_PIPE;

        if (c->kill_signal == 0) {
                c->kill_signal = !c->boot ? SIGKILL : c->init_kind == INIT_BUSYBOX ? SIGUSR2 : SIGRTMIN + 3;
                c->halt_via_initctl = c->boot && c->init_kind == INIT_SYSV;
        }
        return 0;
}
