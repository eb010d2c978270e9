/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "machinectl.h"
#include "machinectl-journal.h"
#include "parse-util.h"
#include "signal-util.h"
#include "string-table.h"
#include "strv.h"

static const char *const output_mode_table[_OUTPUT_MODE_MAX] = {
        [OUTPUT_TEXT] = "short",
        [OUTPUT_JSON_SHORT] = "json",
        [OUTPUT_JSON_PRETTY] = "json-pretty",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(output_mode, OutputMode)

OutputMode output_mode_from_string(const char *s) {
        int i = string_table_lookup(output_mode_table, ELEMENTSOF(output_mode_table), s);
        if (i >= 0)
                return (OutputMode) i;
        /* systemd's journal names for one-line JSON. */
        if (s && (streq(s, "json-short") || streq(s, "json-seq")))
                return OUTPUT_JSON_SHORT;
        return _OUTPUT_MODE_INVALID;
}

OutputMode json_mode_from_string(const char *s) {
        if (!s)
                return _OUTPUT_MODE_INVALID;
        if (streq(s, "short"))
                return OUTPUT_JSON_SHORT;
        if (streq(s, "pretty"))
                return OUTPUT_JSON_PRETTY;
        if (streq(s, "off"))
                return OUTPUT_TEXT;
        return _OUTPUT_MODE_INVALID;
}

void machinectl_config_done(MachinectlConfig *c) {
        c->properties = strv_free(c->properties);
        c->setenv = strv_free(c->setenv);
        c->args = strv_free(c->args);
        free(c->uid);
        c->uid = NULL;
        free(c->machine);
        c->machine = NULL;
}

void machinectl_help(void) {
        printf("machinectl [OPTIONS...] COMMAND ...\n\n"
               "Send control commands to or query the virtual machine and container\n"
               "registration manager (org.freedesktop.machine1).\n\n"
               "Machine Commands:\n"
               "  list                        List running machines (the default)\n"
               "  status NAME...              Show machine status, process tree, OS, addresses\n"
               "  show [NAME...]              Show properties of one or more machines,\n"
               "                              or of the manager\n"
               "  start NAME...               Boot image NAME from the pool as a container\n"
               "  stop NAME...                Power off machines started with start\n"
               "  login [NAME]                Get a login prompt in a container\n"
               "  shell [[USER@]NAME [COMMAND...]]\n"
               "                              Run a shell or command in a container and\n"
               "                              exit with its exit status\n"
               "  bind NAME PATH [PATH]       Bind mount a path from the host into a container\n"
               "  copy-to NAME PATH [PATH]    Copy files from the host to a container\n"
               "  copy-from NAME PATH [PATH]  Copy files from a container to the host\n"
               "  enable NAME...              Start the image at machined start\n"
               "  disable NAME...             Do not start it any more\n"
               "  poweroff NAME...            Power off one or more containers\n"
               "  reboot NAME...              Reboot one or more containers\n"
               "  terminate NAME...           Terminate one or more machines\n"
               "  kill NAME...                Send a signal to processes of a machine\n\n"
               "Image Commands:\n"
               "  list-images                 List images in the pool\n"
               "  image-status [NAME...]      Show image details (all images without NAME)\n"
               "  show-image [NAME...]        Show properties of images\n"
               "  clone NAME NAME             Clone an image\n"
               "  rename NAME NAME            Rename an image\n"
               "  read-only NAME [BOOL]       Mark or unmark image read-only\n"
               "  remove NAME...              Remove an image\n"
               "  set-limit [NAME] BYTES      Set image or pool size limit (disk quota)\n"
               "  clean                       Remove hidden (or with -a all) images\n\n"
               "Image Transfer Commands (local files; .gz, .xz, .zst compressed by suffix):\n"
               "  import-tar FILE [NAME]      Import a local TAR container image\n"
               "  import-raw FILE [NAME]      Import a local RAW container or VM image\n"
               "  import-fs DIRECTORY [NAME]  Import a local directory container image\n"
               "  export-tar NAME FILE        Export a TAR container image locally\n"
               "  export-raw NAME FILE        Export a RAW container or VM image locally\n\n"
               "Options:\n"
               "  -h --help                   Show this help\n"
               "     --version                Show package version\n"
               "     --no-pager               Do not pipe output into a pager (we never do)\n"
               "     --no-legend              Do not show the headers and footers\n"
               "     --no-ask-password        Do not ask for a password\n"
               "  -p --property=NAME          Show only properties by this name\n"
               "  -P NAME                     Equivalent to --value --property=NAME\n"
               "  -a --all                    Show all properties, including empty ones,\n"
               "                              and hidden machines and images\n"
               "     --value                  When showing properties, only print the value\n"
               "  -l --full                   Do not ellipsize or truncate output\n"
               "     --max-addresses=N|all    Addresses shown per machine by list (default 1)\n"
               "     --kill-whom=WHOM         Whom to send the signal to: leader, supervisor\n"
               "                              or all (default)\n"
               "  -s --signal=SIGNAL          Which signal to send (default: SIGTERM)\n"
               "     --uid=USER               Run the shell as USER (default: root)\n"
               "  -E --setenv=VAR[=VALUE]     Add an environment variable for the shell\n"
               "     --now                    With enable/disable: start/stop as well\n"
               "     --read-only              With clone: create a read-only image; with bind:\n"
               "                              a read-only mount\n"
               "     --force                  With copy-to/copy-from: replace the destination\n"
               "     --mkdir                  With bind: create the destination if missing\n"
               "  -o --output=MODE            The journal in status: short (default), short-iso,\n"
               "                              short-iso-precise, short-precise, short-monotonic,\n"
               "                              short-unix, verbose, export, json, json-pretty, cat;\n"
               "                              json and json-pretty also print list/status/show\n"
               "                              as JSON;\n"
               "                              help lists them\n"
               "  -n --lines=N                Journal lines status shows (default: 10)\n"
               "     --json=MODE              short, pretty or off\n"
               "  -q --quiet                  Suppress informational messages\n"
               "  -M --machine=[USER@]NAME    Talk to the machined in local container NAME\n"
               "                              (on its system bus, connected as USER)\n"
               "  -H --host                   Not supported: no remote hosts\n\n"
               "The exit status is 0 on success and 1 on failure; shell exits with the\n"
               "status of the command it ran.\n"
               "See the machinectl(1) man page for details.\n");
}

enum {
        ARG_VERSION = 0x100,
        ARG_NO_PAGER,
        ARG_NO_LEGEND,
        ARG_NO_ASK_PASSWORD,
        ARG_VALUE,
        ARG_KILL_WHOM,
        ARG_UID,
        ARG_NOW,
        ARG_JSON,
        ARG_MAX_ADDRESSES,
        ARG_READ_ONLY,
        ARG_FORCE,
        ARG_MKDIR,
};

static const struct option options[] = {
        { "help",            no_argument,       NULL, 'h'                 },
        { "version",         no_argument,       NULL, ARG_VERSION         },
        { "all",             no_argument,       NULL, 'a'                 },
        { "full",            no_argument,       NULL, 'l'                 },
        { "no-pager",        no_argument,       NULL, ARG_NO_PAGER        },
        { "no-legend",       no_argument,       NULL, ARG_NO_LEGEND       },
        { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
        { "quiet",           no_argument,       NULL, 'q'                 },
        { "property",        required_argument, NULL, 'p'                 },
        { "value",           no_argument,       NULL, ARG_VALUE           },
        { "kill-whom",       required_argument, NULL, ARG_KILL_WHOM       },
        { "signal",          required_argument, NULL, 's'                 },
        { "uid",             required_argument, NULL, ARG_UID             },
        { "setenv",          required_argument, NULL, 'E'                 },
        { "now",             no_argument,       NULL, ARG_NOW             },
        { "read-only",       no_argument,       NULL, ARG_READ_ONLY       },
        { "output",          required_argument, NULL, 'o'                 },
        { "json",            required_argument, NULL, ARG_JSON            },
        { "max-addresses",   required_argument, NULL, ARG_MAX_ADDRESSES   },
        { "lines",           required_argument, NULL, 'n'                 },
        { "force",           no_argument,       NULL, ARG_FORCE           },
        { "mkdir",           no_argument,       NULL, ARG_MKDIR           },
        { "host",            required_argument, NULL, 'H'                 },
        { "machine",         required_argument, NULL, 'M'                 },
        {}
};

/* -E NAME takes NAME's value from our own environment, as systemd's machinectl does. */
static int setenv_option(MachinectlConfig *c, const char *arg) {
        if (strchr(arg, '=')) {
                if (!env_assignment_is_valid(arg))
                        return log_error_errno(EINVAL, "Invalid environment assignment: %s", arg);
                return strv_extend(&c->setenv, arg) < 0 ? log_oom() : 0;
        }
        if (!env_name_is_valid(arg))
                return log_error_errno(EINVAL, "Invalid environment variable name: %s", arg);
        const char *v = getenv(arg);
        if (!v)
                return 0;
        char *a = strjoin(arg, "=", v);
        if (!a || strv_consume(&c->setenv, a) < 0)
                return log_oom();
        return 0;
}

/* "-p A,B" and "-p A -p B" mean the same. */
static int properties_option(MachinectlConfig *c, const char *arg) {
        for (const char *p = arg; *p;) {
                size_t n = strcspn(p, ",");
                if (n > 0) {
                        char *name = strndup(p, n);
                        if (!name || strv_consume(&c->properties, name) < 0)
                                return log_oom();
                }
                p += n + (p[n] == ',');
        }
        return 0;
}

static int parse_one(MachinectlConfig *c, int opt, const char *arg) {
        switch (opt) {
        case 'a':
                c->all = true;
                return 0;
        case 'l':
                c->full = true;
                return 0;
        case ARG_NO_PAGER:
        case ARG_NO_ASK_PASSWORD:
                return 0;
        case ARG_NO_LEGEND:
                c->legend = false;
                return 0;
        case 'q':
                c->quiet = true;
                return 0;
        case 'P':
                c->value = true;
                return properties_option(c, arg);
        case 'p':
                return properties_option(c, arg);
        case ARG_VALUE:
                c->value = true;
                return 0;
        case ARG_KILL_WHOM:
                c->kill_whom = kill_whom_from_string(arg);
                if (c->kill_whom < 0)
                        return log_error_errno(EINVAL, "Invalid --kill-whom= value '%s': expected leader, supervisor or all.", arg);
                return 0;
        case 's': {
                int sig = signal_from_string(arg);
                if (sig < 0)
                        return log_error_errno(EINVAL, "Invalid signal '%s'.", arg);
                c->signal = sig;
                return 0;
        }
        case ARG_UID:
                free(c->uid);
                c->uid = strdup(arg);
                return c->uid ? 0 : log_oom();
        case 'E':
                return setenv_option(c, arg);
        case ARG_READ_ONLY:
                c->read_only = true;
                return 0;
        case ARG_NOW:
                c->now = true;
                return 0;
        case ARG_FORCE:
                c->force = true;
                return 0;
        case ARG_MKDIR:
                c->mkdir = true;
                return 0;
        case 'o':
                if (streq(arg, "help")) {
                        for (int m = 0; m < _JOURNAL_MODE_MAX; m++)
                                puts(journal_mode_to_string(m));
                        return 1;
                }
                /* The journal's modes say how status prints the journal; json and json-pretty
                 * also make list, status and show print JSON (status then carries the journal's
                 * entries as JSON objects under "Journal"). */
                c->journal_mode = journal_mode_from_string(arg);
                c->output = output_mode_from_string(arg);
                if (c->journal_mode < 0 && c->output < 0)
                        return log_error_errno(EINVAL, "Invalid output mode '%s': see --output=help.", arg);
                if (c->journal_mode < 0) /* json-short, json-seq */
                        c->journal_mode = JOURNAL_JSON;
                if (c->output < 0 || (c->journal_mode != JOURNAL_JSON && c->journal_mode != JOURNAL_JSON_PRETTY))
                        c->output = OUTPUT_TEXT;
                return 0;
        case ARG_JSON:
                c->output = json_mode_from_string(arg);
                if (c->output < 0)
                        return log_error_errno(EINVAL, "Invalid --json= mode '%s': expected short, pretty or off.", arg);
                return 0;
        case 'n':
                if (safe_atou(arg, &c->lines) < 0)
                        return log_error_errno(EINVAL, "Invalid --lines= value '%s': expected a number.", arg);
                return 0;
        case ARG_MAX_ADDRESSES:
                if (streq(arg, "all"))
                        c->max_addresses = UINT_MAX;
                else if (safe_atou(arg, &c->max_addresses) < 0)
                        return log_error_errno(EINVAL, "Invalid --max-addresses= value '%s': expected a number or \"all\".", arg);
                return 0;
        case 'H':
                return log_error_errno(EOPNOTSUPP, "-H/--host= is not supported: machinectl talks to the local machined only.");
        case 'M':
                free(c->machine);
                c->machine = strdup(arg);
                return c->machine ? 0 : log_oom();
        default:
                return -EINVAL;
        }
}

int machinectl_parse_argv(int argc, char *argv[], MachinectlConfig *c) {
        /* The leading "-" makes getopt return operands in place (as option 1) instead of moving
         * them to the end. That is what "shell" needs: options after "shell NAME" belong to the
         * command run in the machine ("machinectl shell foo /bin/ls -l"), so option parsing
         * stops right after the machine name there, and only there. */
        static const char optstring[] = "-hap:P:lqs:E:o:n:H:M:";
        size_t n_operands = 0;
        bool shell = false;
        int opt, r;

        optind = 0;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, optstring, options, NULL)) >= 0) {
                switch (opt) {
                case 'h':
                        machinectl_help();
                        return 0;
                case ARG_VERSION:
                        printf("berth machinectl %s\n", BERTH_VERSION);
                        return 0;
                case 1:
                        if (strv_extend(&c->args, optarg) < 0)
                                return log_oom();
                        if (n_operands++ == 0)
                                shell = streq(optarg, "shell");
                        else if (shell)
                                goto rest;
                        break;
                case '?':
                        if (optopt != 0 && optopt < 0x100)
                                return log_error_errno(EINVAL, "Invalid option -%c or missing argument. See --help.", optopt);
                        return log_error_errno(EINVAL, "Invalid option %s or missing argument. See --help.", argv[optind - 1]);
                default:
                        r = parse_one(c, opt, optarg);
                        if (r != 0) /* > 0: it printed what was asked for (--output=help) */
                                return r < 0 ? r : 0;
                }
        }
rest:
        for (int i = optind; i < argc; i++)
                if (strv_extend(&c->args, argv[i]) < 0)
                        return log_oom();
        return 1;
}
