/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machinectl's parsers and formatters: option values, the OSC 3008 filter that carries a shell's
 * exit status, the cgroup path cut and process tree, tables and time formatting. */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machinectl-cgroup.h"
#include "machinectl-journal.h"
#include "machinectl-output.h"
#include "machinectl-pty.h"
#include "machinectl.h"
#include "strv.h"
#include "tap.h"

static void test_enums(void) {
        for (int i = 0; i < _OUTPUT_MODE_MAX; i++)
                CHECK(output_mode_from_string(output_mode_to_string((OutputMode) i)) == i);
        CHECK(output_mode_from_string("json-short") == OUTPUT_JSON_SHORT);
        CHECK(output_mode_from_string("yaml") == _OUTPUT_MODE_INVALID);
        CHECK(output_mode_from_string(NULL) == _OUTPUT_MODE_INVALID);
        CHECK(json_mode_from_string("pretty") == OUTPUT_JSON_PRETTY);
        CHECK(json_mode_from_string("short") == OUTPUT_JSON_SHORT);
        CHECK(json_mode_from_string("off") == OUTPUT_TEXT);
        CHECK(json_mode_from_string("json") == _OUTPUT_MODE_INVALID);

        for (int i = 0; i < _KILL_WHOM_MAX; i++)
                CHECK(kill_whom_from_string(kill_whom_to_string((KillWhom) i)) == i);
        CHECK(kill_whom_from_string("everyone") == _KILL_WHOM_INVALID);
        CHECK(kill_whom_to_string(_KILL_WHOM_INVALID) == NULL);
}

static int parse(MachinectlConfig *c, char **argv) {
        *c = MACHINECTL_CONFIG_INIT;
        return machinectl_parse_argv((int) strv_length(argv), argv, c);
}

static void test_parse_argv(void) {
        MachinectlConfig c;

        char *a1[] = { "machinectl", "--no-legend", "list", "-a", "--json=pretty", NULL };
        CHECK(parse(&c, a1) == 1);
        CHECK(!c.legend && c.all && c.output == OUTPUT_JSON_PRETTY);
        CHECK(strv_length(c.args) == 1 && streq(c.args[0], "list"));
        machinectl_config_done(&c);

        /* Options after "shell NAME" belong to the command. */
        char *a2[] = { "machinectl", "shell", "-q", "--uid=tester", "foo", "/bin/ls", "-l", "--all", NULL };
        CHECK(parse(&c, a2) == 1);
        CHECK(c.quiet && !c.all && c.uid && streq(c.uid, "tester"));
        CHECK(strv_length(c.args) == 5 && streq(c.args[1], "foo") && streq(c.args[3], "-l") && streq(c.args[4], "--all"));
        machinectl_config_done(&c);

        /* Elsewhere options may follow the verb and its arguments. */
        char *a3[] = { "machinectl", "kill", "foo", "-s", "RTMIN+4", "--kill-whom=leader", "bar", NULL };
        CHECK(parse(&c, a3) == 1);
        CHECK(c.signal == SIGRTMIN + 4 && c.kill_whom == KILL_LEADER);
        CHECK(strv_length(c.args) == 3 && streq(c.args[2], "bar"));
        machinectl_config_done(&c);

        char *a4[] = { "machinectl", "show", "-p", "Name,Leader", "-P", "Class", "x", NULL };
        CHECK(parse(&c, a4) == 1);
        CHECK(c.value && strv_length(c.properties) == 3 && strv_contains(c.properties, "Leader"));
        machinectl_config_done(&c);

        char *a5[] = { "machinectl", "-o", "json", "--max-addresses=all", NULL };
        CHECK(parse(&c, a5) == 1);
        CHECK(c.output == OUTPUT_JSON_SHORT && c.max_addresses == UINT32_MAX && !c.args);
        machinectl_config_done(&c);

        char *bad[][4] = {
                { "machinectl", "--kill-whom=nobody", "kill", NULL },
                { "machinectl", "-s", "SIGNOPE", NULL },
                { "machinectl", "-H", "host", NULL },
                { "machinectl", "-o", "xml", NULL },
                { "machinectl", "--json=xml", NULL },
                { "machinectl", "--bogus", NULL },
                { "machinectl", "-p", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                CHECK(parse(&c, bad[i]) < 0);
                machinectl_config_done(&c);
        }

        /* -M is kept for dispatch; the journal's modes set how status prints it, json also the output. */
        char *a7[] = { "machinectl", "-M", "u@m", "-o", "verbose", NULL };
        CHECK(parse(&c, a7) == 1);
        CHECK(streq(c.machine, "u@m") && c.journal_mode == JOURNAL_VERBOSE && c.output == OUTPUT_TEXT);
        machinectl_config_done(&c);
        for (int m = 0; m < _JOURNAL_MODE_MAX; m++)
                CHECK(journal_mode_from_string(journal_mode_to_string(m)) == m);
        char *a8[] = { "machinectl", "-o", "json-pretty", NULL };
        CHECK(parse(&c, a8) == 1);
        CHECK(c.journal_mode == JOURNAL_JSON_PRETTY && c.output == OUTPUT_JSON_PRETTY && !c.machine);
        machinectl_config_done(&c);

        char *a6[] = { "machinectl", "-E", "FOO=bar", "-E", "BERTH_TEST_UNSET_VAR", "shell", NULL };
        CHECK(parse(&c, a6) == 1);
        CHECK(strv_length(c.setenv) == 1 && streq(c.setenv[0], "FOO=bar"));
        machinectl_config_done(&c);
}

/* Runs input through a filter in chunks of size step. */
static char *filter_all(OscFilter *f, const char *in, size_t step) {
        size_t n = strlen(in), k = 0;
        char *out = malloc(OSC_FILTER_OUT_SIZE(n) + n + 1);
        for (size_t i = 0; i < n; i += step) {
                size_t len = MIN(step, n - i);
                k += osc_filter_feed(f, in + i, len, out + k);
        }
        k += osc_filter_flush(f, out + k);
        out[k] = 0;
        return out;
}

#define START "\033]3008;start=abc123;type=shell;container=m;user=root\033\\"

static void test_osc_filter(void) {
        const char *in = START "hello\r\nworld\r\n\033[1mbold\033[0m\033]0;title\a\033]3008;end=abc123;exit=failure;status=7\033\\";

        for (size_t step = 1; step <= strlen(in); step += (step < 8 ? 1 : 13)) {
                OscFilter f = { .strip = true, .crlf = true };
                char *out = filter_all(&f, in, step);
                CHECK_STREQ(out, "hello\nworld\n\033[1mbold\033[0m\033]0;title\a");
                CHECK(f.have_status && f.status == 7);
                free(out);

                OscFilter pass = {};
                out = filter_all(&pass, in, step);
                CHECK_STREQ(out, in);
                CHECK(pass.have_status && pass.status == 7);
                free(out);
        }

        /* Signals, success, BEL terminator, and end sequences of other sessions. */
        struct {
                const char *in;
                bool have;
                int status;
        } cases[] = {
                { START "\033]3008;end=abc123;exit=interrupt;signal=SIGTERM\033\\", true, 128 + SIGTERM },
                { START "\033]3008;end=abc123;exit=success;status=0\a", true, 0 },
                { START "\033]3008;end=other;exit=failure;status=3\033\\", false, 0 },
                { "\033]3008;end=abc123;exit=failure;status=3\033\\", false, 0 },
                { START "\033]3008;end=abc123;exit=crash\033\\", true, 1 },
                { START "\033]3008;end=abc123;exit=failure;status=999\033\\", true, 1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                OscFilter f = { .strip = true };
                free(filter_all(&f, cases[i].in, 5));
                CHECK(f.have_status == cases[i].have);
                CHECK(!cases[i].have || f.status == cases[i].status);
        }

        /* A nested session's sequences and lookalikes pass through even when stripping. */
        OscFilter f = { .strip = true };
        char *out = filter_all(&f, START "\033]3008;start=inner;type=shell\033\\x\033]3008;end=inner;exit=success;status=0\033\\\033]30\033[m\r", 3);
        CHECK_STREQ(out, "\033]3008;start=inner;type=shell\033\\x\033]3008;end=inner;exit=success;status=0\033\\\033]30\033[m\r");
        CHECK(!f.have_status);
        free(out);

        /* An unterminated, overlong sequence is released unchanged. */
        char big[3000];
        strcpy(big, "\033]3008;");
        memset(big + 7, 'x', sizeof(big) - 8);
        big[sizeof(big) - 1] = 0;
        OscFilter g = { .strip = true };
        out = filter_all(&g, big, 100);
        CHECK_STREQ(out, big);
        free(out);
}

static void test_cgroup_path_cut(void) {
        char *s;
        CHECK_STREQ(s = cgroup_path_cut_at_unit("/a.slice/machine-x.scope/payload/sub", "machine-x.scope"), "/a.slice/machine-x.scope");
        free(s);
        CHECK_STREQ(s = cgroup_path_cut_at_unit("/machine-x.scope", "machine-x.scope"), "/machine-x.scope");
        free(s);
        CHECK_STREQ(s = cgroup_path_cut_at_unit("/a/machine-x.scopefoo/b", "machine-x.scope"), "/a/machine-x.scopefoo/b");
        free(s);
        CHECK_STREQ(s = cgroup_path_cut_at_unit("/a/b", ""), "/a/b");
        free(s);
        CHECK_STREQ(s = cgroup_path_cut_at_unit("/a/b", NULL), "/a/b");
        free(s);
        /* The innermost of nested machines with the same unit name. */
        CHECK_STREQ(s = cgroup_path_cut_at_unit("/m.scope/payload/m.scope/x", "m.scope"), "/m.scope/payload/m.scope");
        free(s);
}

static void write_procs(const char *dir, const char *pids) {
        char path[512];
        snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
        FILE *f = fopen(path, "we");
        fputs(pids, f);
        fclose(f);
}

static void test_process_tree(void) {
        char root[] = "/tmp/test-machinectl-XXXXXX", sub[300], empty[300], inner[300];
        char self[16], parent[16];
        CHECK(mkdtemp(root) != NULL);
        snprintf(sub, sizeof(sub), "%s/payload", root);
        snprintf(empty, sizeof(empty), "%s/empty", root);
        snprintf(inner, sizeof(inner), "%s/payload/inner", root);
        mkdir(sub, 0755);
        mkdir(empty, 0755);
        mkdir(inner, 0755);
        snprintf(self, sizeof(self), "%d\n", (int) getpid());
        snprintf(parent, sizeof(parent), "%d\n", (int) getppid());
        write_procs(root, self);
        write_procs(sub, "");
        write_procs(empty, "");
        write_procs(inner, parent);

        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        CHECK(cgroup_show_tree(f, root, "> ", 0, false) == 0);
        fclose(f);
        char *cmd = process_command_line(getpid()), *pcmd = process_command_line(getppid());
        char want[4096];
        snprintf(want, sizeof(want), "> |-%d %s\n> `-payload\n>   `-inner\n>     `-%d %s\n", (int) getpid(), cmd, (int) getppid(), pcmd);
        CHECK_STREQ(buf, want);
        free(buf);

        json_object *procs = NULL;
        CHECK(cgroup_processes_json(root, &procs) == 0);
        CHECK(json_object_array_length(procs) == 2);
        json_object *second = json_object_array_get_idx(procs, 1), *cg;
        CHECK(json_object_object_get_ex(second, "cgroup", &cg) && streq(json_object_get_string(cg), "/payload/inner"));
        json_object_put(procs);
        free(cmd);
        free(pcmd);

        for (const char *d = inner;; d = d == inner ? sub : d == sub ? empty : root) {
                char p[512];
                snprintf(p, sizeof(p), "%s/cgroup.procs", d);
                unlink(p);
                rmdir(d);
                if (d == root)
                        break;
        }
}

static void test_table(void) {
        static const char *const headers[] = { "NAME", "X", "LAST" };
        Table *t = table_new(3, headers);
        table_add_cell(t, "a-long-name");
        table_add_cell(t, "");
        table_add_cell(t, "z");
        table_add_cell(t, "b");
        table_add_cell(t, "\033[31mred");
        table_add_cell(t, NULL);
        CHECK(table_rows(t) == 2);

        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        table_print(t, f, true, false);
        fclose(f);
        CHECK_STREQ(buf, "NAME        X           LAST\n"
                         "a-long-name -           z\n"
                         "b           \\x1b[31mred -\n");
        free(buf);

        f = open_memstream(&buf, &size);
        table_print(t, f, false, false);
        fclose(f);
        CHECK_STREQ(buf, "a-long-name -           z\nb           \\x1b[31mred -\n");
        free(buf);
        table_free(t);
}

static void test_formatting(void) {
        char buf[64];
        uint64_t now = 1700000000ULL * 1000000ULL;
        struct {
                uint64_t ago;
                const char *want;
        } rel[] = {
                { 0, "now" },
                { 500, "500us ago" },
                { 3 * 1000000ULL, "3s ago" },
                { 65 * 1000000ULL, "1min 5s ago" },
                { 10 * 60 * 1000000ULL, "10min ago" },
                { 2 * 3600 * 1000000ULL + 60 * 1000000ULL, "2h 1min ago" },
                { 7 * 3600 * 1000000ULL, "7h ago" },
                { 26 * 3600 * 1000000ULL, "1 day 2h ago" },
                { 3 * 86400 * 1000000ULL, "3 days ago" },
        };
        for (size_t i = 0; i < ELEMENTSOF(rel); i++)
                CHECK_STREQ(format_timestamp_relative(buf, sizeof(buf), now - rel[i].ago, now), rel[i].want);
        CHECK_STREQ(format_timestamp_relative(buf, sizeof(buf), now + 3 * 1000000ULL, now), "3s left");
        CHECK_STREQ(format_timestamp(buf, sizeof(buf), 0), "n/a");

        setenv("TZ", "UTC", 1);
        tzset();
        CHECK_STREQ(format_timestamp(buf, sizeof(buf), now), "Tue 2023-11-14 22:13:20 UTC");

        CHECK_STREQ(format_bytes(buf, sizeof(buf), 512), "512B");
        CHECK_STREQ(format_bytes(buf, sizeof(buf), 4096), "4.0K");
        CHECK_STREQ(format_bytes(buf, sizeof(buf), 3ULL << 30), "3.0G");

        char *e = escape_control("a\nb\033c");
        CHECK_STREQ(e, "a\\x0ab\\x1bc");
        free(e);
        char *t = string_truncate("abcdefgh", 5);
        CHECK(t && string_width(t) <= 5 && strneq(t, "ab", 2));
        free(t);
        t = string_truncate("abc", 5);
        CHECK_STREQ(t, "abc");
        free(t);
}

int main(void) {
        setlocale(LC_ALL, "C");
        test_enums();
        test_parse_argv();
        test_osc_filter();
        test_cgroup_path_cut();
        test_process_tree();
        test_table();
        test_formatting();
        return tap_finish();
}
