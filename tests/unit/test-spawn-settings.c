/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "spawn-caps.h"
#include "spawn-settings.h"
#include "strv.h"
#include "tap.h"

static void test_key_lookup(void) {
        const char *rest = "unset";
        const SpawnOptionDef *d;

        d = settings_key_lookup("Exec", "Hostname", &rest);
        CHECK(d && streq(d->name, "hostname") && rest == NULL);
        d = settings_key_lookup("Exec", "LimitNOFILE", &rest);
        CHECK(d && streq(d->name, "rlimit") && rest && streq(rest, "NOFILE"));
        CHECK(settings_key_lookup("Exec", "Limit", NULL) == NULL);
        CHECK(settings_key_lookup("Exec", "hostname", NULL) == NULL);
        CHECK(settings_key_lookup("Files", "Hostname", NULL) == NULL);
        CHECK(settings_key_lookup("Exec", "Bogus", NULL) == NULL);
        d = settings_key_lookup("Files", "Bind", NULL);
        CHECK(d && d->settings_trust == SETTINGS_TRUSTED_ONLY);
        d = settings_key_lookup("Exec", "Parameters", NULL);
        CHECK(d && !d->name && d->field == SPAWN_FIELD_COMMAND);

        /* Every key is in a section nspawn has, once, on a row that sets a field. */
        size_t n;
        const SpawnOptionDef *t = spawn_option_table(&n);
        for (size_t i = 0; i < n; i++) {
                const char *k = t[i].settings_key;
                if (t[i].heading || !k)
                        continue;
                CHECK(startswith(k, "Exec.") || startswith(k, "Files.") || startswith(k, "Network."));
                CHECK(t[i].field >= 0);
                CHECK(t[i].settings_value != SETTINGS_BOOL || !t[i].argument);
                for (size_t j = 0; j < i; j++)
                        CHECK(!t[j].settings_key || !streq(t[j].settings_key, k));
        }
}

static void check_location(char **argv, int argc, const char *want_file, const char *want_dir) {
        SpawnOptions o;
        _cleanup_free_ char *file = NULL, *dir = NULL;

        spawn_options_init(&o);
        CHECK(spawn_options_parse_argv(&o, argc, argv) > 0);
        CHECK(settings_file_location(&o, &file, &dir) == 0);
        if (want_file)
                CHECK_STREQ(file, want_file);
        else
                CHECK(file == NULL);
        if (want_dir)
                CHECK_STREQ(dir, want_dir);
        else
                CHECK(dir == NULL);
        spawn_options_done(&o);
}

static void test_location(void) {
        check_location((char *[]) { (char *) "spawn", (char *) "-D", (char *) "/var/lib/machines/foo/", NULL }, 3,
                       "foo.nspawn", "/var/lib/machines");
        check_location((char *[]) { (char *) "spawn", (char *) "-i", (char *) "/srv/img.raw", NULL }, 3,
                       "img.nspawn", "/srv");
        check_location((char *[]) { (char *) "spawn", (char *) "-M", (char *) "bar", NULL }, 3,
                       "bar.nspawn", SPAWN_IMAGE_POOL);
        check_location((char *[]) { (char *) "spawn", (char *) "-M", (char *) "bar", (char *) "-D", (char *) "/t/x", NULL }, 5,
                       "bar.nspawn", "/t");
        check_location((char *[]) { (char *) "spawn", (char *) "-D", (char *) "/my_tree", NULL }, 3,
                       "mytree.nspawn", "/");
        /* The host's root has no neighbour and no name. */
        check_location((char *[]) { (char *) "spawn", (char *) "-D", (char *) "/", NULL }, 3, NULL, NULL);
        check_location((char *[]) { (char *) "spawn", NULL }, 1, NULL, NULL);
}

/* Parses argv, then merges text as a file of the given trust. */
static int merge(SpawnOptions *o, const char *text, bool trusted, char **argv) {
        int argc = (int) strv_length(argv);
        spawn_options_init(o);
        if (spawn_options_parse_argv(o, argc, argv) <= 0)
                return -EINVAL;
        FILE *f = fmemopen((void *) text, strlen(text), "r");
        if (!f)
                return -errno;
        int r = spawn_settings_merge_file(o, f, "/test.nspawn", trusted, argc, argv);
        fclose(f);
        return r;
}

static void test_merge(void) {
        SpawnOptions o;

        /* The command line wins, per field; the file fills the rest. */
        CHECK(merge(&o, "[Exec]\nHostname=file\nWorkingDirectory=/tmp\nEnvironment=A=1 B=2\n", false,
                    (char *[]) { (char *) "spawn", (char *) "--hostname=cli", (char *) "-E", (char *) "C=3", NULL }) == 0);
        CHECK_STREQ(o.hostname, "cli");
        CHECK(o.source[SPAWN_FIELD_HOSTNAME] == SPAWN_SOURCE_COMMAND_LINE);
        CHECK_STREQ(o.chdir, "/tmp");
        CHECK(o.source[SPAWN_FIELD_CHDIR] == SPAWN_SOURCE_SETTINGS_UNTRUSTED);
        CHECK(strv_length(o.setenv) == 1 && streq(o.setenv[0], "C=3"));
        spawn_options_done(&o);

        /* override: the file wins, and replaces a list whole. */
        CHECK(merge(&o, "[Exec]\nHostname=file\nEnvironment=A=1\n", true,
                    (char *[]) { (char *) "spawn", (char *) "--settings=override", (char *) "--hostname=cli",
                                 (char *) "-E", (char *) "C=3", (char *) "-u", (char *) "nobody", NULL }) == 0);
        CHECK_STREQ(o.hostname, "file");
        CHECK(o.source[SPAWN_FIELD_HOSTNAME] == SPAWN_SOURCE_SETTINGS_TRUSTED);
        CHECK(strv_length(o.setenv) == 1 && streq(o.setenv[0], "A=1"));
        CHECK_STREQ(o.user, "nobody");
        CHECK(o.settings_mode == SETTINGS_OVERRIDE);
        spawn_options_done(&o);

        /* Boot=, ProcessTwo= and Parameters= go together: a command on the command line voids them. */
        CHECK(merge(&o, "[Exec]\nBoot=yes\nParameters=--log-level=debug\n", true,
                    (char *[]) { (char *) "spawn", (char *) "/bin/true", NULL }) == 0);
        CHECK(!o.boot && strv_length(o.command) == 1 && streq(o.command[0], "/bin/true"));
        spawn_options_done(&o);
        CHECK(merge(&o, "[Exec]\nBoot=yes\nParameters=a 'b c'\nBoot=no\nProcessTwo=yes\n", true,
                    (char *[]) { (char *) "spawn", NULL }) == 0);
        CHECK(!o.boot && o.as_pid2 && strv_length(o.command) == 2 && streq(o.command[1], "b c"));
        CHECK(o.source[SPAWN_FIELD_BOOT] == SPAWN_SOURCE_SETTINGS_TRUSTED);
        spawn_options_done(&o);

        /* Untrusted: what grants is ignored, what takes away is not. */
        CHECK(merge(&o, "[Exec]\nCapability=CAP_SYS_MODULE\nDropCapability=CAP_MKNOD\nLimitNOFILE=5\n"
                        "SystemCallFilter=@obsolete\nSystemCallFilter=~@swap\n[Network]\nPrivate=yes\n", false,
                    (char *[]) { (char *) "spawn", NULL }) == 0);
        CHECK(o.isolation.caps.add == 0 && o.isolation.caps.drop == (UINT64_C(1) << 27));
        CHECK(o.isolation.rlimits_set == 0);
        CHECK(!o.private_network);
        CHECK(o.isolation.syscall_filter.allow == NULL && strv_contains(o.isolation.syscall_filter.deny, "@swap"));
        spawn_options_done(&o);
        CHECK(merge(&o, "[Exec]\nCapability=CAP_SYS_MODULE\nLimitNOFILE=5\n[Network]\nPrivate=yes\n", true,
                    (char *[]) { (char *) "spawn", NULL }) == 0);
        CHECK(o.isolation.caps.add == (UINT64_C(1) << 16) && o.isolation.rlimits_set != 0 && o.private_network);
        spawn_options_done(&o);

        /* [Network] goes together: -n on the command line voids the file's Private=. */
        CHECK(merge(&o, "[Network]\nPrivate=yes\nVirtualEthernet=no\n", true,
                    (char *[]) { (char *) "spawn", (char *) "-n", NULL }) == 0);
        CHECK(o.network_veth && o.private_network && o.source[SPAWN_FIELD_NETWORK_VETH] == SPAWN_SOURCE_COMMAND_LINE);
        spawn_options_done(&o);

        /* A bad value: an error, the options untouched. */
        CHECK(merge(&o, "[Exec]\nHostname=ok\nKillSignal=NOPE\n", true, (char *[]) { (char *) "spawn", NULL }) < 0);
        CHECK(o.hostname == NULL && o.kill_signal == 0);
        spawn_options_done(&o);
        CHECK(merge(&o, "[Exec]\nHostname\n", true, (char *[]) { (char *) "spawn", NULL }) == -EBADMSG);
        spawn_options_done(&o);
        /* Unknown keys and sections only warn. */
        CHECK(merge(&o, "[Exec]\nNope=1\n[Nope]\nHostname=x y\n[Exec]\nHostname=fine\n", false,
                    (char *[]) { (char *) "spawn", NULL }) == 0);
        CHECK_STREQ(o.hostname, "fine");
        spawn_options_done(&o);
}

static void test_settings_mode(void) {
        CHECK(settings_mode_from_string("yes") == SETTINGS_YES);
        CHECK(settings_mode_from_string("true") == SETTINGS_YES);
        CHECK(settings_mode_from_string("0") == SETTINGS_NO);
        CHECK(settings_mode_from_string("trusted") == SETTINGS_TRUSTED);
        CHECK(settings_mode_from_string("override") == SETTINGS_OVERRIDE);
        CHECK(settings_mode_from_string("Override") == _SETTINGS_MODE_INVALID);
        CHECK(settings_mode_from_string(NULL) == _SETTINGS_MODE_INVALID);
        for (int m = 0; m < _SETTINGS_MODE_MAX; m++)
                CHECK(settings_mode_from_string(settings_mode_to_string(m)) == m);
}

int main(void) {
        /* The merge warns and errs as spawn would; keep the TAP stream readable. */
        log_set_fd(2);
        test_key_lookup();
        test_location();
        test_merge();
        test_settings_mode();
        return tap_finish();
}
