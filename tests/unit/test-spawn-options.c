/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "spawn-mount.h"
#include "spawn-options.h"
#include "spawn-selinux.h"
#include "strv.h"
#include "tap.h"

static void test_console_mode(void) {
        static const char *const names[] = { "interactive", "read-only", "passive", "pipe", "autopipe" };

        CHECK(ELEMENTSOF(names) == _CONSOLE_MODE_MAX);
        for (int m = 0; m < _CONSOLE_MODE_MAX; m++) {
                const char *s = console_mode_to_string((ConsoleMode) m);
                CHECK_STREQ(s, names[m]);
                CHECK(s && console_mode_from_string(s) == (ConsoleMode) m);
        }
        CHECK(console_mode_from_string("pipe") == CONSOLE_PIPE);
        CHECK(console_mode_from_string("autopipe") == CONSOLE_AUTOPIPE);
        CHECK(console_mode_from_string("read-only") == CONSOLE_READ_ONLY);

        CHECK(console_mode_to_string(_CONSOLE_MODE_MAX) == NULL);
        CHECK(console_mode_to_string(_CONSOLE_MODE_INVALID) == NULL);
        CHECK(console_mode_to_string((ConsoleMode) -1) == NULL);
        CHECK(console_mode_to_string((ConsoleMode) 100) == NULL);
        CHECK(console_mode_from_string("") == _CONSOLE_MODE_INVALID);
        CHECK(console_mode_from_string("bogus") == _CONSOLE_MODE_INVALID);
        CHECK(console_mode_from_string("Pipe") == _CONSOLE_MODE_INVALID);
        CHECK(console_mode_from_string("pipe ") == _CONSOLE_MODE_INVALID);
        CHECK(console_mode_from_string("readonly") == _CONSOLE_MODE_INVALID);
        CHECK(_CONSOLE_MODE_INVALID < 0);
}

static void check_bind(const char *spec, bool ro, const char *src, const char *dst, bool recursive) {
        CustomMount m = {};
        int r = custom_mount_parse_bind(spec, ro, &m);

        if (r < 0)
                printf("# custom_mount_parse_bind(\"%s\") = %d\n", spec, r);
        CHECK(r == 0);
        CHECK(m.type == CUSTOM_MOUNT_BIND);
        CHECK_STREQ(m.source, src);
        CHECK_STREQ(m.destination, dst);
        CHECK(m.options == NULL);
        CHECK(m.read_only == ro);
        CHECK(m.recursive == recursive);
        free(m.source);
        free(m.destination);
        free(m.options);
}

static void check_bind_fails(const char *spec) {
        CustomMount m = { .type = _CUSTOM_MOUNT_TYPE_INVALID };
        int r = custom_mount_parse_bind(spec, false, &m);

        if (r != -EINVAL)
                printf("# custom_mount_parse_bind(\"%s\") = %d\n", spec, r);
        CHECK(r == -EINVAL);
        /* Output untouched on failure. */
        CHECK(m.type == _CUSTOM_MOUNT_TYPE_INVALID && !m.source && !m.destination);
        if (r >= 0) {
                free(m.source);
                free(m.destination);
                free(m.options);
        }
}

static void test_parse_bind(void) {
        check_bind("/a", false, "/a", "/a", true);
        check_bind("/a", true, "/a", "/a", true);
        check_bind("/a:/b", false, "/a", "/b", true);
        check_bind("/a:/b:norbind", false, "/a", "/b", false);
        check_bind("/a:/b:rbind", true, "/a", "/b", true);
        check_bind("/a:/b:norbind,rbind", false, "/a", "/b", true);
        check_bind("/a:/b:rbind,norbind", false, "/a", "/b", false);
        check_bind("/a::norbind", false, "/a", "/a", false);
        check_bind("/a:", false, "/a", "/a", true);
        check_bind("+/x", false, "+/x", "/x", true);
        check_bind("+/x:/y", false, "+/x", "/y", true);
        check_bind("+/x::norbind", false, "+/x", "/x", false);
        check_bind("+/", false, "+/", "/", true);
        check_bind("/a\\:b:/c", false, "/a:b", "/c", true);
        check_bind("/a\\:b", false, "/a:b", "/a:b", true);
        check_bind("/a:/c\\:d", false, "/a", "/c:d", true);
        check_bind("/a\\\\b:/c", false, "/a\\b", "/c", true);
        check_bind("/with space:/dst", false, "/with space", "/dst", true);
        check_bind("/usr/lib/os-release:/run/host/os-release", true, "/usr/lib/os-release",
                   "/run/host/os-release", true);

        check_bind_fails("");
        check_bind_fails("rel");
        check_bind_fails("./a");
        check_bind_fails("/a:rel");
        check_bind_fails("/a:/b:bogus");
        check_bind_fails("/a:/b:rbind,bogus");
        check_bind_fails("/a:/b:ro");
        check_bind_fails("/a/../b");
        check_bind_fails("/a/./b");
        check_bind_fails("/a:/b/..");
        check_bind_fails("/a:/b/../c");
        check_bind_fails("+rel");
        check_bind_fails("+");
        check_bind_fails("+/a/../b");
        check_bind_fails("+../a");
        check_bind_fails(":/b");
        check_bind_fails("/a\\x:/b");
        check_bind_fails("/a:/b\\x:rbind");
        check_bind_fails("/a:/b:norbind:extra");
}

static void check_tmpfs_flags(const char *spec, const char *dst, const char *opts, unsigned long flags) {
        CustomMount m = {};
        int r = custom_mount_parse_tmpfs(spec, &m);

        if (r < 0)
                printf("# custom_mount_parse_tmpfs(\"%s\") = %d\n", spec, r);
        CHECK(r == 0);
        CHECK(m.type == CUSTOM_MOUNT_TMPFS);
        CHECK(m.source == NULL);
        CHECK_STREQ(m.destination, dst);
        if (opts)
                CHECK_STREQ(m.options, opts);
        else
                CHECK(m.options == NULL);
        CHECK(m.flags == flags);
        free(m.source);
        free(m.destination);
        free(m.options);
}

static void check_tmpfs(const char *spec, const char *dst, const char *opts) {
        check_tmpfs_flags(spec, dst, opts, MS_NOSUID | MS_NODEV);
}

static void check_tmpfs_fails(const char *spec) {
        CustomMount m = { .type = _CUSTOM_MOUNT_TYPE_INVALID };
        int r = custom_mount_parse_tmpfs(spec, &m);

        CHECK(r == -EINVAL);
        CHECK(m.type == _CUSTOM_MOUNT_TYPE_INVALID && !m.destination && !m.options);
        if (r >= 0) {
                free(m.source);
                free(m.destination);
                free(m.options);
        }
}

static void test_parse_tmpfs(void) {
        check_tmpfs("/t", "/t", "mode=0755");
        check_tmpfs("/t:mode=0700,size=1m", "/t", "mode=0700,size=1m");
        check_tmpfs("/var/tmp:size=10%", "/var/tmp", "size=10%");
        /* Options are the last field: taken verbatim, colons and all. */
        check_tmpfs("/t:a=b:c", "/t", "a=b:c");
        check_tmpfs("/t\\:x:mode=1777", "/t:x", "mode=1777");
        /* Flag words are flags, not tmpfs data (the kernel refuses them there). */
        check_tmpfs_flags("/var:rw,nosuid,noexec", "/var", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC);
        check_tmpfs_flags("/t:ro,mode=0700,suid,dev,size=1m", "/t", "mode=0700,size=1m", MS_RDONLY);
        check_tmpfs_flags("/t:exec,,strictatime", "/t", NULL, MS_NOSUID | MS_NODEV | MS_STRICTATIME);

        check_tmpfs_fails("rel");
        check_tmpfs_fails("");
        check_tmpfs_fails(":mode=0755");
        check_tmpfs_fails("rel:mode=0755");
        check_tmpfs_fails("/a/../t");
        check_tmpfs_fails("/t/.");
        check_tmpfs_fails("/t\\x:mode=0755");
}

static void test_mount_append(void) {
        CustomMount *l = NULL, m = {};
        size_t n = 0;

        CHECK(custom_mount_parse_bind("/a:/b", false, &m) == 0);
        CHECK(custom_mount_append(&l, &n, &m) == 0);
        CHECK(m.source == NULL && m.destination == NULL); /* ownership moved */
        CHECK(custom_mount_parse_tmpfs("/t", &m) == 0);
        CHECK(custom_mount_append(&l, &n, &m) == 0);
        CHECK(n == 2);
        CHECK(l && l[0].type == CUSTOM_MOUNT_BIND && l[1].type == CUSTOM_MOUNT_TMPFS);
        CHECK_STREQ(l ? l[0].destination : NULL, "/b");
        CHECK_STREQ(l ? l[1].destination : NULL, "/t");
        custom_mount_free_all(l, n);
        custom_mount_free_all(NULL, 0);
}

#define ARGV(...) ((char *[]) { "spawn", __VA_ARGS__, NULL })

static int parse(SpawnOptions *c, char **argv) {
        int argc = 0;
        while (argv[argc])
                argc++;
        optind = 0; /* full getopt re-initialisation between runs */
        return spawn_options_parse_argv(c, argc, argv);
}

/* --help and --version print to stdout, which is our TAP stream: send it elsewhere. */
static int parse_quietly(SpawnOptions *c, char **argv) {
        fflush(stdout);
        int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (saved < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0)
                return -EIO;
        close(null);
        int r = parse(c, argv);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        return r;
}

static void test_parse_argv_full(void) {
        SpawnOptions c = { .console_mode = _CONSOLE_MODE_INVALID };
        int r;

        r = parse(&c, ARGV("-D", "/srv/tree", "-M", "box", "--hostname=host.example", "--uuid",
                           "0123456789abcdef0123456789abcdef", "-u", "alice", "--chdir=/home/alice", "-E",
                           "A=1", "--setenv=B=two words", "-E", "A=3", "-a", "--bind=/h:/c:norbind",
                           "--bind-ro", "+/x", "--tmpfs=/t:mode=0700", "--read-only", "--private-network",
                           "--kill-signal=SIGTERM", "--console=pipe", "-q", "ls", "-l"));
        CHECK(r > 0);
        CHECK_STREQ(c.directory, "/srv/tree");
        CHECK_STREQ(c.machine, "box");
        CHECK_STREQ(c.hostname, "host.example");
        char buf[37];
        CHECK_STREQ(id128_to_uuid_string(&c.uuid, buf), "01234567-89ab-cdef-0123-456789abcdef");
        CHECK_STREQ(c.user, "alice");
        CHECK_STREQ(c.chdir, "/home/alice");
        CHECK(strv_length(c.setenv) == 2);
        CHECK_STREQ(strv_env_get(c.setenv, "A"), "3");
        CHECK_STREQ(strv_env_get(c.setenv, "B"), "two words");
        CHECK(c.as_pid2);
        CHECK(c.n_mounts == 3);
        if (c.n_mounts == 3) {
                CHECK(c.mounts[0].type == CUSTOM_MOUNT_BIND);
                CHECK_STREQ(c.mounts[0].source, "/h");
                CHECK_STREQ(c.mounts[0].destination, "/c");
                CHECK(!c.mounts[0].recursive && !c.mounts[0].read_only);
                CHECK(c.mounts[1].type == CUSTOM_MOUNT_BIND);
                CHECK_STREQ(c.mounts[1].source, "+/x");
                CHECK_STREQ(c.mounts[1].destination, "/x");
                CHECK(c.mounts[1].recursive && c.mounts[1].read_only);
                CHECK(c.mounts[2].type == CUSTOM_MOUNT_TMPFS);
                CHECK_STREQ(c.mounts[2].destination, "/t");
                CHECK_STREQ(c.mounts[2].options, "mode=0700");
        }
        CHECK(c.read_only);
        CHECK(c.private_network);
        CHECK(c.kill_signal == 15);
        CHECK(c.console_mode == CONSOLE_PIPE);
        CHECK(c.quiet);
        CHECK(strv_length(c.command) == 2);
        CHECK_STREQ(c.command ? c.command[0] : NULL, "ls");
        CHECK_STREQ(c.command ? c.command[1] : NULL, "-l");
        spawn_options_done(&c);
        CHECK(c.directory == NULL && c.command == NULL && c.mounts == NULL && c.n_mounts == 0);
        CHECK(c.console_mode == _CONSOLE_MODE_INVALID);
}

static void test_parse_argv_command(void) {
        SpawnOptions c = { .console_mode = _CONSOLE_MODE_INVALID };

        /* Options after the command belong to the command. */
        CHECK(parse(&c, ARGV("-D", "/x", "ls", "-l", "-q", "--read-only")) > 0);
        CHECK_STREQ(c.directory, "/x");
        CHECK(!c.quiet && !c.read_only);
        CHECK(strv_length(c.command) == 4);
        CHECK_STREQ(c.command ? c.command[1] : NULL, "-l");
        CHECK_STREQ(c.command ? c.command[3] : NULL, "--read-only");
        spawn_options_done(&c);

        /* "--" ends our options. */
        CHECK(parse(&c, ARGV("-D", "/x", "--", "-q")) > 0);
        CHECK(!c.quiet);
        CHECK(strv_length(c.command) == 1);
        CHECK_STREQ(c.command ? c.command[0] : NULL, "-q");
        spawn_options_done(&c);

        /* No command: NULL, so the user's shell is used. */
        CHECK(parse(&c, ARGV("--directory=/x", "--quiet")) > 0);
        CHECK_STREQ(c.directory, "/x");
        CHECK(c.quiet);
        CHECK(c.command == NULL);
        CHECK(c.console_mode == _CONSOLE_MODE_INVALID);
        CHECK(c.kill_signal == 0);
        spawn_options_done(&c);

        /* Bundled short options and attached arguments. */
        CHECK(parse(&c, ARGV("-qaD/y", "-Mname", "true")) > 0);
        CHECK(c.quiet && c.as_pid2);
        CHECK_STREQ(c.directory, "/y");
        CHECK_STREQ(c.machine, "name");
        CHECK(strv_length(c.command) == 1);
        spawn_options_done(&c);

        /* --link-journal=: auto by default, -j is try-guest, bogus modes refused. */
        CHECK(parse(&c, ARGV("-D", "/x")) > 0);
        CHECK(c.link_journal == LINK_JOURNAL_AUTO);
        spawn_options_done(&c);
        CHECK(parse(&c, ARGV("-jD/x")) > 0);
        CHECK(c.link_journal == LINK_JOURNAL_TRY_GUEST);
        CHECK(c.source[SPAWN_FIELD_LINK_JOURNAL] == SPAWN_SOURCE_COMMAND_LINE);
        spawn_options_done(&c);
        CHECK(parse(&c, ARGV("-D/x", "--link-journal=try-host")) > 0);
        CHECK(c.link_journal == LINK_JOURNAL_TRY_HOST);
        spawn_options_done(&c);
        CHECK(parse(&c, ARGV("-D/x", "--link-journal=bogus")) < 0);
        spawn_options_done(&c);

        /* Later options override earlier ones. */
        CHECK(parse(&c, ARGV("-D", "/one", "-D", "/two", "--kill-signal=RTMIN+3", "--kill-signal", "9",
                             "--console=interactive", "--console", "autopipe")) > 0);
        CHECK_STREQ(c.directory, "/two");
        CHECK(c.kill_signal == SIGKILL);
        CHECK(c.console_mode == CONSOLE_AUTOPIPE);
        spawn_options_done(&c);

        CHECK(parse(&c, ARGV("--kill-signal=SIGRTMIN+3")) > 0);
        CHECK(c.kill_signal == SIGRTMIN + 3);
        spawn_options_done(&c);

        /* Nothing at all. */
        char *only[] = { (char *) "spawn", NULL };
        CHECK(parse(&c, only) > 0);
        CHECK(c.directory == NULL && c.command == NULL);
        spawn_options_done(&c);

        /* --help and --version: exit successfully. */
        CHECK(parse_quietly(&c, ARGV("--help")) == 0);
        spawn_options_done(&c);
        CHECK(parse_quietly(&c, ARGV("-h")) == 0);
        spawn_options_done(&c);
        CHECK(parse_quietly(&c, ARGV("--version")) == 0);
        spawn_options_done(&c);
}

static void check_argv_fails(char **argv) {
        SpawnOptions c = { .console_mode = _CONSOLE_MODE_INVALID };
        int r = parse(&c, argv);

        if (r >= 0) {
                printf("# accepted:");
                for (char **a = argv + 1; *a; a++)
                        printf(" '%s'", *a);
                printf("\n");
        }
        CHECK(r < 0);
        spawn_options_done(&c);
}

static void test_parse_argv_invalid(void) {
        check_argv_fails(ARGV("-M", "bad/name"));
        check_argv_fails(ARGV("--machine=.hidden"));
        check_argv_fails(ARGV("-M", ""));
        check_argv_fails(ARGV("--hostname=a b"));
        check_argv_fails(ARGV("--uuid=nope"));
        check_argv_fails(ARGV("--uuid=00000000-0000-0000-0000-000000000000"));
        check_argv_fails(ARGV("-u", ""));
        check_argv_fails(ARGV("--chdir=rel"));
        check_argv_fails(ARGV("--chdir=/a/../b"));
        check_argv_fails(ARGV("-E", "NOEQUALS"));
        check_argv_fails(ARGV("-E", "1A=b"));
        check_argv_fails(ARGV("--setenv==x"));
        check_argv_fails(ARGV("--kill-signal=BOGUS"));
        check_argv_fails(ARGV("--kill-signal=0"));
        check_argv_fails(ARGV("--console=bogus"));
        check_argv_fails(ARGV("--bind=rel"));
        check_argv_fails(ARGV("--bind-ro=/a:/b:bogus"));
        check_argv_fails(ARGV("--tmpfs=rel"));
        check_argv_fails(ARGV("--no-such-option"));
        check_argv_fails(ARGV("-Z"));
        check_argv_fails(ARGV("-D"));           /* missing argument */
        check_argv_fails(ARGV("--directory"));  /* missing argument */
        check_argv_fails(ARGV("--quiet=yes"));  /* argument to a flag */
        /* An error after good options still fails, and the partial config frees cleanly. */
        check_argv_fails(ARGV("-D", "/x", "-E", "A=1", "--bind=/a", "-M", "bad/name", "ls"));
}

static void test_enum_tables(void) {
        for (int m = 0; m < _RESOLV_CONF_MODE_MAX; m++)
                CHECK(resolv_conf_mode_from_string(resolv_conf_mode_to_string((ResolvConfMode) m)) == m);
        CHECK(resolv_conf_mode_from_string("copy-static") == _RESOLV_CONF_MODE_INVALID);
        for (int m = 0; m < _TIMEZONE_MODE_MAX; m++)
                CHECK(timezone_mode_from_string(timezone_mode_to_string((TimezoneMode) m)) == m);
        CHECK(timezone_mode_from_string("") == _TIMEZONE_MODE_INVALID);
        for (int m = 0; m < _REGISTER_MODE_MAX; m++)
                CHECK(register_mode_from_string(register_mode_to_string((RegisterMode) m)) == m);
        CHECK(register_mode_from_string("true") == REGISTER_YES);
        CHECK(register_mode_from_string("0") == REGISTER_NO);
        CHECK(register_mode_from_string("maybe") == _REGISTER_MODE_INVALID);
        CHECK(resolv_conf_mode_to_string(_RESOLV_CONF_MODE_MAX) == NULL);
}

static void test_parse_argv_boot_options(void) {
        SpawnOptions c;
        char *argv[] = { (char *) "spawn", (char *) "-D", (char *) "/x", (char *) "-b",
                         (char *) "--property=TasksMax=20", (char *) "--property=MemoryMax=1G",
                         (char *) "--notify-ready=yes", (char *) "--restart-on-reboot",
                         (char *) "--resolv-conf=bind-host", (char *) "--timezone=off",
                         (char *) "--register=no", (char *) "--keep-unit", (char *) "--slice=foo.slice",
                         (char *) "systemd.unit=x", (char *) "FOO=1", NULL };

        spawn_options_init(&c);
        optind = 0;
        CHECK(spawn_options_parse_argv(&c, (int) ELEMENTSOF(argv) - 1, argv) > 0);
        CHECK(c.boot);
        CHECK(c.limits.tasks_max == 20);
        CHECK(c.limits.memory_max == 1ULL << 30);
        CHECK(c.notify_ready);
        CHECK(c.restart_on_reboot);
        CHECK(c.resolv_conf == RESOLV_CONF_BIND_HOST);
        CHECK(c.timezone == TIMEZONE_OFF);
        CHECK(c.register_mode == REGISTER_NO);
        CHECK(c.keep_unit);
        CHECK_STREQ(c.slice, "foo.slice");
        CHECK(strv_length(c.command) == 2);
        spawn_options_done(&c);

        static const char *const bad[] = { "--property=Bogus=1", "--property=TasksMax=x", "--notify-ready=perhaps",
                                           "--resolv-conf=x", "--timezone=x", "--register=x", "--slice=foo",
                                           "--slice=a/b.slice" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *a[] = { (char *) "spawn", (char *) bad[i], NULL };
                spawn_options_init(&c);
                optind = 0;
                CHECK(spawn_options_parse_argv(&c, 2, a) < 0);
                spawn_options_done(&c);
        }
}

static void test_selinux_context_syntax(void) {
        static const char *const good[] = {
                "system_u:system_r:container_t:s0",
                "system_u:object_r:container_file_t:s0:c1,c2",
                "system_u:system_r:spc_t:s0-s0:c0.c1023",
                "u:r:t",
                "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023",
                "staff_u:staff_r:staff_t:s0^t",
        };
        static const char *const bad[] = {
                "", "container_t", "a:b", ":a:b", "a:b:", "a::b", "a:b:c d", "a:b:\"c\"", "a:b:c\n",
                "a:b:c'", "a:b:c/d", "a:b:c=d", "a:b:c;d",
        };
        char big[5000];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                if (!selinux_context_is_valid(good[i]))
                        printf("# rejected '%s'\n", good[i]);
                CHECK(selinux_context_is_valid(good[i]));
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (selinux_context_is_valid(bad[i]))
                        printf("# accepted '%s'\n", bad[i]);
                CHECK(!selinux_context_is_valid(bad[i]));
        }
        CHECK(!selinux_context_is_valid(NULL));
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        big[1] = big[3] = ':';
        CHECK(!selinux_context_is_valid(big));
        big[4095] = 0;
        CHECK(selinux_context_is_valid(big));
}

static void test_parse_argv_selinux(void) {
        SpawnOptions c;

        spawn_options_init(&c);
        CHECK(parse(&c, ARGV("-D", "/x", "-Z", "system_u:system_r:container_t:s0:c1,c2",
                             "--selinux-apifs-context=system_u:object_r:container_file_t:s0", "true")) > 0);
        CHECK_STREQ(c.selinux_context, "system_u:system_r:container_t:s0:c1,c2");
        CHECK_STREQ(c.selinux_apifs_context, "system_u:object_r:container_file_t:s0");
        CHECK(c.command && streq(c.command[0], "true"));
        spawn_options_done(&c);
        CHECK(c.selinux_context == NULL && c.selinux_apifs_context == NULL);

        /* The last one wins, as with every other option; short forms glued to their argument. */
        CHECK(parse(&c, ARGV("--selinux-context=a:b:c", "-Zu:r:t", "-Lu:o:f", "-L", "u2:o2:f2")) > 0);
        CHECK_STREQ(c.selinux_context, "u:r:t");
        CHECK_STREQ(c.selinux_apifs_context, "u2:o2:f2");
        spawn_options_done(&c);

        check_argv_fails(ARGV("-Z", "container_t"));
        check_argv_fails(ARGV("-L", "a:b:c\",x"));
        check_argv_fails(ARGV("--selinux-context="));
        check_argv_fails(ARGV("--selinux-apifs-context", "a:b:c d"));
        check_argv_fails(ARGV("-Z"));
        check_argv_fails(ARGV("-L"));
}

/* man/spawn.1, found through $BERTH_MAN_DIR (meson test sets it). */
static int read_man_page(char **ret) {
        const char *mandir = getenv("BERTH_MAN_DIR");
        if (!mandir) {
                printf("# $BERTH_MAN_DIR not set: not checking man/spawn.1\n");
                return -ENOENT;
        }
        _cleanup_free_ char *manpath = strjoin(mandir, "/spawn.1");
        int r = manpath ? read_file_at(AT_FDCWD, manpath, 1024 * 1024, ret, NULL) : -ENOMEM;
        CHECK(r >= 0);
        return r;
}

/* The table is the one source of getopt's arguments and --help; the man page is written by hand,
 * so check it mentions every option the way its other entries do. */
static void test_option_table(void) {
        size_t n;
        const SpawnOptionDef *t = spawn_option_table(&n);
        char shorts[128];
        _cleanup_free_ char *help = NULL, *man = NULL;
        size_t help_size = 0;

        spawn_option_short_string(shorts, sizeof(shorts));
        CHECK_STREQ(shorts, "+hqbD:i:xau:E:M:np:Z:L:Uj");
        FILE *f = open_memstream(&help, &help_size);
        CHECK(f != NULL);
        if (!f)
                return;
        spawn_options_help(f);
        fclose(f);
        (void) read_man_page(&man);

        for (size_t i = 0; i < n; i++) {
                const SpawnOptionDef *d = t + i;
                if (d->heading)
                        continue;
                /* Settings files only (Parameters=): no option, in neither --help nor getopt. */
                if (!d->name && !d->short_name) {
                        CHECK(d->settings_key != NULL && d->id > 0xff);
                        continue;
                }
                if (!d->name) {
                        /* Short only (-U): in getopt's string, --help and the man page. */
                        char want[16];
                        CHECK(d->short_name && d->id == d->short_name && strchr(shorts, d->short_name));
                        snprintf(want, sizeof(want), "  -%c ", d->short_name);
                        CHECK(help && strstr(help, want));
                        snprintf(want, sizeof(want), ".B \\-%c\n", d->short_name);
                        CHECK(!man || strstr(man, want));
                        continue;
                }
                CHECK(d->help && *d->help);
                /* getopt: short options appear once, with ':' exactly when they take an argument. */
                if (d->short_name) {
                        const char *p = strchr(shorts, d->short_name);
                        CHECK(p && strchr(p + 1, d->short_name) == NULL);
                        CHECK(p && (p[1] == ':') == !!d->argument);
                        CHECK(d->id == d->short_name);
                } else
                        CHECK(d->id > 0xff);
                for (size_t j = 0; j < i; j++)
                        CHECK(!t[j].name || (!streq(t[j].name, d->name) && t[j].id != d->id));


                char want[128];
                const char *eq = !d->argument ? "" : d->argument_optional ? "[=" : "=";
                const char *close = d->argument_optional ? "]" : "";
                CHECK(!d->argument_optional || (d->argument && !d->short_name));
                if (d->short_name)
                        snprintf(want, sizeof(want), "  -%c --%s%s%s%s", d->short_name, d->name, eq, d->argument ?: "", close);
                else
                        snprintf(want, sizeof(want), "     --%s%s%s%s", d->name, eq, d->argument ?: "", close);
                if (!help || !strstr(help, want))
                        printf("# --help lacks '%s'\n", want);
                CHECK(help && strstr(help, want));

                if (!man)
                        continue;
                /* The man page spells dashes as "\-". */
                char manname[128] = "\\-\\-";
                size_t k = strlen(manname);
                for (const char *c = d->name; *c && k + 3 < sizeof(manname); c++) {
                        if (*c == '-')
                                manname[k++] = '\\';
                        manname[k++] = *c;
                }
                manname[k] = 0;
                if (!strstr(man, manname))
                        printf("# man/spawn.1 lacks '%s'\n", manname);
                CHECK(strstr(man, manname));
                if (d->short_name) {
                        snprintf(want, sizeof(want), "\\-%c \", \" %s", d->short_name, manname);
                        if (!strstr(man, want))
                                printf("# man/spawn.1 lacks '%s'\n", want);
                        CHECK(strstr(man, want));
                }
        }
}

/* And the other way round: every option the man page names exists. */
static void test_man_options_exist(void) {
        _cleanup_free_ char *man = NULL;
        size_t n;
        const SpawnOptionDef *t = spawn_option_table(&n);

        if (read_man_page(&man) < 0)
                return;
        for (const char *p = strstr(man, "\\-\\-"); p; p = strstr(p, "\\-\\-")) {
                char name[64];
                size_t k = 0;
                for (p += 4; k + 1 < sizeof(name); p++) {
                        if (p[0] == '\\' && p[1] == '-')
                                name[k++] = '-', p++;
                        else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
                                name[k++] = *p;
                        else
                                break;
                }
                name[k] = 0;
                bool found = false;
                for (size_t i = 0; i < n; i++)
                        found = found || (t[i].name && streq(t[i].name, name));
                if (!found)
                        printf("# man/spawn.1 names --%s, which spawn does not have\n", name);
                CHECK(found);
        }
}

static void test_option_sources(void) {
        SpawnOptions o;

        spawn_options_init(&o);
        CHECK(parse(&o, ARGV("-D", "/x", "--tmpfs=/t", "-q", "true")) > 0);
        CHECK(o.source[SPAWN_FIELD_DIRECTORY] == SPAWN_SOURCE_COMMAND_LINE);
        CHECK(o.source[SPAWN_FIELD_MOUNTS] == SPAWN_SOURCE_COMMAND_LINE);
        CHECK(o.source[SPAWN_FIELD_QUIET] == SPAWN_SOURCE_COMMAND_LINE);
        CHECK(o.source[SPAWN_FIELD_COMMAND] == SPAWN_SOURCE_COMMAND_LINE);
        CHECK(o.source[SPAWN_FIELD_MACHINE] == SPAWN_SOURCE_DEFAULT);
        CHECK(o.source[SPAWN_FIELD_BOOT] == SPAWN_SOURCE_DEFAULT);
        spawn_options_done(&o);
        CHECK(o.source[SPAWN_FIELD_DIRECTORY] == SPAWN_SOURCE_DEFAULT);

        /* Every field but the command has an option that sets it. */
        size_t n;
        const SpawnOptionDef *t = spawn_option_table(&n);
        for (int fld = 0; fld < _SPAWN_FIELD_MAX; fld++) {
                bool found = fld == SPAWN_FIELD_COMMAND;
                for (size_t i = 0; i < n; i++)
                        found = found || (t[i].name && t[i].field == fld);
                if (!found)
                        printf("# no option sets field %i\n", fld);
                CHECK(found);
        }
}

static void test_parse_argv_overlay(void) {
        SpawnOptions c;
        spawn_options_init(&c);
        CHECK(parse(&c, ARGV("--overlay=/l1:/l2:/up:/dst", "--bind=/b", "--overlay-ro=/a:/b", "--overlay=/x:+/y",
                             "--overlay=/l::/t", "-x", "--volatile=state", "-i", "/img.raw")) > 0);
        CHECK(c.n_overlays == 4 && c.n_mounts == 5);
        CHECK(strv_length(c.overlays[0].lower) == 2);
        CHECK_STREQ(c.overlays[0].lower[0], "/l1");
        CHECK_STREQ(c.overlays[0].upper, "/up");
        CHECK_STREQ(c.overlays[0].destination, "/dst");
        CHECK(c.overlays[0].mount_index == 0 && c.mounts[0].type == CUSTOM_MOUNT_BIND);
        CHECK_STREQ(c.mounts[0].source, "/run/berth/stage/overlay.0");
        /* Read-only, two paths: both are lower layers, the last also the destination. */
        CHECK(strv_length(c.overlays[1].lower) == 2 && !c.overlays[1].upper && c.mounts[2].read_only);
        CHECK_STREQ(c.overlays[1].destination, "/b");
        /* Read-write, two paths: the second is the upper layer and the destination. */
        CHECK_STREQ(c.overlays[2].upper, "+/y");
        CHECK_STREQ(c.overlays[2].destination, "/y");
        CHECK_STREQ(c.overlays[3].upper, "");
        CHECK(c.ephemeral && c.volatile_mode == VOLATILE_STATE);
        CHECK_STREQ(c.image, "/img.raw");
        spawn_options_done(&c);

        const char *bad[] = { "--overlay=/only", "--overlay=rel:/d", "--overlay=/a:/b:rel", "--volatile=maybe" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                spawn_options_init(&c);
                char *a[] = { (char *) "spawn", (char *) bad[i], NULL };
                CHECK(parse_quietly(&c, a) < 0);
                spawn_options_done(&c);
        }
        CHECK(volatile_mode_from_string("true") == VOLATILE_YES && volatile_mode_from_string("0") == VOLATILE_NO);

        /* --volatile alone is yes, as with nspawn; the next word is not its argument. */
        spawn_options_init(&c);
        char *alone[] = { (char *) "spawn", (char *) "--volatile", (char *) "-D", (char *) "/t", NULL };
        CHECK(parse(&c, alone) > 0);
        CHECK(c.volatile_mode == VOLATILE_YES);
        CHECK_STREQ(c.directory, "/t");
        spawn_options_done(&c);
}

static void test_parse_argv_private_users(void) {
        SpawnOptions c;

        spawn_options_init(&c);
        CHECK(parse(&c, ARGV("-D", "/t", "true")) > 0);
        /* Unset: the resolution makes it auto with pick (and -U), off otherwise, as nspawn. */
        CHECK(c.private_users.mode == USERNS_NO && c.private_users_ownership == _USERNS_OWNERSHIP_INVALID);
        spawn_options_done(&c);
        spawn_options_init(&c);
        CHECK(parse(&c, ARGV("-UD/t", "true")) > 0);
        CHECK(c.private_users.mode == USERNS_PICK && c.private_users.size == 65536);
        CHECK(c.source[SPAWN_FIELD_PRIVATE_USERS] == SPAWN_SOURCE_COMMAND_LINE);
        spawn_options_done(&c);
        spawn_options_init(&c);
        CHECK(parse(&c, ARGV("-U", "--private-users=1048576:1000", "--private-users-ownership=map")) > 0);
        CHECK(c.private_users.mode == USERNS_FIXED && c.private_users.base == 1048576 && c.private_users.size == 1000);
        CHECK(c.private_users_ownership == USERNS_OWNERSHIP_MAP);
        spawn_options_done(&c);
        check_argv_fails(ARGV("--private-users=maybe"));
        check_argv_fails(ARGV("--private-users=1:0"));
        check_argv_fails(ARGV("--private-users-ownership=idmap"));

        CustomMount m;
        CHECK(custom_mount_parse_bind("/a:/b:idmap", false, &m) == 0 && m.idmap == MOUNT_IDMAP_CONTAINER && m.recursive);
        free(m.source), free(m.destination);
        CHECK(custom_mount_parse_bind("/a:/b:norbind,rootidmap", false, &m) == 0 && m.idmap == MOUNT_IDMAP_ROOT && !m.recursive);
        free(m.source), free(m.destination);
        CHECK(custom_mount_parse_bind("/a:/b:noidmap", false, &m) == 0 && m.idmap == MOUNT_IDMAP_NONE);
        free(m.source), free(m.destination);
        CHECK(custom_mount_parse_bind("/a:/b:idmapped", false, &m) == -EINVAL);
}

int main(void) {
        test_option_table();
        test_parse_argv_overlay();
        test_option_sources();
        test_man_options_exist();
        test_enum_tables();
        test_parse_argv_boot_options();
        test_console_mode();
        test_parse_bind();
        test_parse_tmpfs();
        test_mount_append();
        test_parse_argv_full();
        test_parse_argv_command();
        test_parse_argv_invalid();
        test_selinux_context_syntax();
        test_parse_argv_selinux();
        test_parse_argv_private_users();
        return tap_finish();
}
