/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machinectl: the verb table and its dispatch. The verbs live in machinectl-core. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-util.h"
#include "log.h"
#include "machinectl-bus.h"
#include "machinectl-output.h"
#include "machinectl-transport.h"
#include "machinectl.h"
#include "strv.h"

#define ARGS_ANY UINT_MAX

typedef enum VerbFlags {
        VERB_DEFAULT = 1 << 0, /* what runs without a verb */
        VERB_JSON = 1 << 1,    /* has a JSON form */
        VERB_LOCAL = 1 << 2,   /* works on local files; the bus only tells where the pool is */
} VerbFlags;

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args; /* counting the verb itself */
        VerbFunction function;
        VerbFlags flags;
} Verb;

static const Verb verbs[] = {
        { "list",         1, 1,        verb_list,         VERB_DEFAULT | VERB_JSON },
        { "status",       2, ARGS_ANY, verb_status,       VERB_JSON                },
        { "show",         1, ARGS_ANY, verb_show,         VERB_JSON                },
        { "terminate",    2, ARGS_ANY, verb_terminate,    0                        },
        { "poweroff",     2, ARGS_ANY, verb_poweroff,     0                        },
        { "reboot",       2, ARGS_ANY, verb_reboot,       0                        },
        { "kill",         2, ARGS_ANY, verb_kill,         0                        },
        { "login",        1, 2,        verb_login,        0                        },
        { "shell",        1, ARGS_ANY, verb_shell,        0                        },
        { "bind",         3, 4,        verb_bind,         0                        },
        { "copy-to",      3, 4,        verb_copy_to,      0                        },
        { "copy-from",    3, 4,        verb_copy_from,    0                        },
        { "start",        2, ARGS_ANY, verb_start,        0                        },
        { "stop",         2, ARGS_ANY, verb_stop,         0                        },
        { "enable",       2, ARGS_ANY, verb_enable,       0                        },
        { "disable",      2, ARGS_ANY, verb_disable,      0                        },
        { "list-images",  1, 1,        verb_list_images,  VERB_JSON                },
        { "image-status", 1, ARGS_ANY, verb_image_status, VERB_JSON                },
        { "show-image",   1, ARGS_ANY, verb_show_image,   VERB_JSON                },
        { "clone",        3, 3,        verb_clone,        0                        },
        { "rename",       3, 3,        verb_rename,       0                        },
        { "remove",       2, ARGS_ANY, verb_remove,       0                        },
        { "read-only",    2, 3,        verb_read_only,    0                        },
        { "set-limit",    2, 3,        verb_set_limit,    0                        },
        { "clean",        1, 1,        verb_clean,        0                        },
#if HAVE_COMPRESSION
        { "import-raw",   2, 3,        verb_import_raw,   VERB_LOCAL               },
        { "import-tar",   2, 3,        verb_import_tar,   VERB_LOCAL               },
        { "import-fs",    2, 3,        verb_import_fs,    VERB_LOCAL               },
        { "export-raw",   3, 3,        verb_export_raw,   VERB_LOCAL               },
        { "export-tar",   3, 3,        verb_export_tar,   VERB_LOCAL               },
#endif
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (name ? streq(verbs[i].name, name) : (verbs[i].flags & VERB_DEFAULT))
                        return &verbs[i];
        return NULL;
}

static int dispatch(MachinectlConfig *c) {
        _cleanup_bus_ sd_bus *bus = NULL;
        const Verb *v = verb_find(c->args ? c->args[0] : NULL);
        int r;

        if (!v)
                return log_error_errno(EINVAL, "Unknown command verb '%s'. See --help.", c->args[0]);
        if (!c->args && strv_extend(&c->args, v->name) < 0)
                return log_oom();

        size_t n = strv_length(c->args);
        if (n < v->min_args)
                return log_error_errno(EINVAL, "Too few arguments for '%s'. See --help.", v->name);
        if (v->max_args != ARGS_ANY && n > v->max_args)
                return log_error_errno(EINVAL, "Too many arguments for '%s'. See --help.", v->name);
        if (output_is_json(c->output) && !(v->flags & VERB_JSON))
                return log_error_errno(EINVAL, "'%s' has no JSON output; JSON is available for list, status, show, "
                                       "list-images, image-status and show-image.", v->name);

        if (c->machine) {
                r = bus_connect_machine(c->machine, &bus);
                if (r < 0)
                        return r;
                return v->function(bus, c->args, c);
        }
        if (v->flags & VERB_LOCAL) {
                /* Without a bus (or machined) the default pool is used. */
                if (sd_bus_open_system(&bus) < 0)
                        bus = NULL;
                return v->function(bus, c->args, c);
        }
        r = bus_connect_system(&bus);
        if (r < 0)
                return r;
        return v->function(bus, c->args, c);
}

int main(int argc, char *argv[]) {
        _cleanup_(machinectl_config_done) MachinectlConfig c = MACHINECTL_CONFIG_INIT;
        int r;

        /* For the width of non-ASCII text in tables, and box drawing only in UTF-8 locales. */
        (void) setlocale(LC_ALL, "");
        log_set_program_name("machinectl");
        (void) bus_register_machine1_errors();

        r = machinectl_parse_argv(argc, argv, &c);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (c.quiet)
                log_set_max_level(LOG_LEVEL_WARNING);
        c.colors = colors_enabled();

        r = dispatch(&c);
        fflush(stdout);
        if (r < 0)
                return EXIT_FAILURE;
        return r;
}
