/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Settings files (NAME.nspawn) as systemd-nspawn reads them. A key is a column of spawn's option
 * table (spawn-options.c, SETTING()): its value goes through the option's own parser, so a key
 * means exactly what its option means, errors included. The merge follows nspawn's
 * merge_settings(): the command line wins per group of options (nspawn's SETTING_* bits) unless
 * --settings=override, and an untrusted file may not set what grants privileges. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "ini-file.h"
#include "log.h"
#include "name-util.h"
#include "parse-util.h"
#include "spawn-settings.h"
#include "strv.h"

/* systemd.nspawn(5) keys spawn has no option for: said so rather than "unknown". */
static const char *const unsupported_keys[] = {
        "Exec.PivotRoot", "Exec.SuppressSync", "Files.Inaccessible", "Files.PrivateUsersChown",
        "Files.BindUser", "Files.BindUserShell",
};

static const char *const known_sections[] = { "Exec", "Files", "Network" };

/* One accepted assignment: the option row, its arguments, where it was. */
typedef struct SettingsEntry {
        const SpawnOptionDef *def;
        char **args;              /* the arguments; NULL for SETTINGS_BOOL */
        bool enable;              /* SETTINGS_BOOL */
        bool skipped;             /* the command line wins, or the file may not set it */
        bool denied;              /* an untrusted file may not set it */
        char *key;                /* as written, for the warning about a denied one */
        unsigned line;
} SettingsEntry;

static void settings_entries_free(SettingsEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                strv_free(e[i].args);
                free(e[i].key);
        }
        free(e);
}

/* A strv of s alone, taking s; NULL (and s freed) when either allocation failed. */
static char **strv_of_one(char *s) {
        char **l = s ? calloc(2, sizeof(char *)) : NULL;
        if (!l) {
                free(s);
                return NULL;
        }
        l[0] = s;
        return l;
}

static bool string_in(const char *s, const char *const *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq(s, l[i]))
                        return true;
        return false;
}

const SpawnOptionDef *settings_key_lookup(const char *section, const char *key, const char **ret_rest) {
        size_t n, sl = strlen(section);
        const SpawnOptionDef *t = spawn_option_table(&n);

        for (size_t i = 0; i < n; i++) {
                const char *k = t[i].settings_key;
                if (t[i].heading || !k || strncmp(k, section, sl) != 0 || k[sl] != '.')
                        continue;
                k += sl + 1;
                size_t kl = strlen(k);
                if (t[i].settings_value == SETTINGS_PREFIX && kl > 0 && k[kl - 1] == '*') {
                        if (strncmp(key, k, kl - 1) == 0 && key[kl - 1]) {
                                if (ret_rest)
                                        *ret_rest = key + kl - 1;
                                return t + i;
                        }
                } else if (streq(k, key)) {
                        if (ret_rest)
                                *ret_rest = NULL;
                        return t + i;
                }
        }
        return NULL;
}

/* nspawn decides these together: the command line's -b, -a or command makes the file's Boot=,
 * ProcessTwo= and Parameters= all void (SETTING_START_MODE), any network option all of the
 * file's [Network] but Port= (SETTING_NETWORK). Every other field stands alone. */
static bool field_is_start_mode(SpawnField f) {
        return f == SPAWN_FIELD_BOOT || f == SPAWN_FIELD_AS_PID2 || f == SPAWN_FIELD_COMMAND;
}

static bool field_is_network(SpawnField f) {
        size_t n;
        const SpawnOptionDef *t = spawn_option_table(&n);

        for (size_t i = 0; i < n; i++)
                if (!t[i].heading && t[i].field == f && t[i].settings_key &&
                    startswith(t[i].settings_key, "Network.") && !streq(t[i].settings_key, "Network.Port"))
                        return true;
        return false;
}

static void field_group(SpawnField f, bool group[static _SPAWN_FIELD_MAX]) {
        bool net = field_is_network(f), start = field_is_start_mode(f);

        for (int g = 0; g < _SPAWN_FIELD_MAX; g++)
                group[g] = g == (int) f || (start && field_is_start_mode(g)) || (net && field_is_network(g));
}

/* The arguments key's value gives its option. Logs (one line, the context names the place). */
static int entry_arguments(const IniEntry *ie, const SpawnOptionDef *def, const char *rest, SettingsEntry *ret) {
        _cleanup_strv_free_ char **args = NULL;
        int r;

        switch (def->settings_value) {
        case SETTINGS_BOOL:
                r = parse_boolean(ie->value);
                if (r < 0)
                        return log_error_errno(EINVAL, "Invalid boolean for %s=: '%s'.", ie->key, ie->value);
                ret->enable = r;
                break;
        case SETTINGS_WORDS:
                r = ini_split_words(ie->value, &args);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "Unbalanced quotes or trailing backslash in %s=.", ie->key);
                break;
        case SETTINGS_ARG:
        case SETTINGS_PREFIX:
                /* "help" makes the option parsers print a list and spawn exit: no setting. */
                if (streq(ie->value, "help"))
                        return log_error_errno(EINVAL, "Invalid value for %s=: 'help'.", ie->key);
                if (def->settings_value == SETTINGS_PREFIX)
                        args = strv_of_one(strjoin(rest, "=", ie->value));
                else
                        args = strv_of_one(strdup(ie->value));
                if (!args)
                        return log_oom();
                break;
        }
        ret->def = def;
        ret->args = TAKE_PTR(args);
        ret->line = ie->line;
        return 0;
}

static int entry_apply(SpawnOptions *o, const SettingsEntry *e) {
        int r = 0;

        if (e->def->settings_value == SETTINGS_BOOL)
                r = e->enable ? spawn_option_apply(o, e->def->id, NULL) : 0;
        else
                for (char **a = e->args; a && *a; a++) {
                        r = spawn_option_apply(o, e->def->id, *a);
                        if (r != 0)
                                break;
                }
        /* > 0 (a "help" list printed) cannot come from a file's value: refused above. */
        return r > 0 ? -EINVAL : r;
}

/* Whether an untrusted file may set e (nspawn ignores the same with a warning). */
static bool entry_allowed_untrusted(const SettingsEntry *e) {
        switch (e->def->settings_trust) {
        case SETTINGS_ANY_FILE:
                return true;
        case SETTINGS_TRUSTED_TO_ALLOW:
                /* "~LIST" only refuses more system calls. */
                return e->args && e->args[0] && e->args[0][0] == '~';
        default:
                return false;
        }
}

/* Turns the file's assignments into entries, checking each value with its option's parser;
 * warns about unknown sections and keys. */
static int settings_collect(const IniEntry *ie, size_t n_ie, const char *path, bool trusted,
                            SettingsEntry **ret, size_t *ret_n) {
        SettingsEntry *e = NULL;
        size_t n = 0;
        char ctx[PATH_MAX + 32];
        int r = 0;

        SpawnOptions scratch;
        spawn_options_init(&scratch);
        for (size_t i = 0; i < n_ie && r >= 0; i++) {
                const IniEntry *x = ie + i;
                snprintf(ctx, sizeof(ctx), "%s:%u", path, x->line);
                log_set_context(ctx);
                if (!x->key) {
                        if (!string_in(x->section, known_sections, ELEMENTSOF(known_sections)))
                                log_warning("Unknown section [%s], ignoring it.", x->section);
                        continue;
                }
                if (!x->section) {
                        log_warning("Assignment %s= outside of any section, ignoring it.", x->key);
                        continue;
                }
                if (!string_in(x->section, known_sections, ELEMENTSOF(known_sections)))
                        continue;
                const char *rest = NULL;
                const SpawnOptionDef *def = settings_key_lookup(x->section, x->key, &rest);
                if (!def) {
                        _cleanup_free_ char *full = strjoin(x->section, ".", x->key);
                        if (full && string_in(full, unsupported_keys, ELEMENTSOF(unsupported_keys)))
                                log_warning("%s= is not supported by spawn, ignoring it.", x->key);
                        else
                                log_warning("Unknown key %s= in section [%s], ignoring it.", x->key, x->section);
                        continue;
                }
                SettingsEntry se = {};
                r = entry_arguments(x, def, rest, &se);
                if (r >= 0)
                        r = entry_apply(&scratch, &se);
                se.denied = !trusted && !entry_allowed_untrusted(&se);
                se.key = r >= 0 ? strdup(x->key) : NULL;
                if (r >= 0 && !se.key)
                        r = log_oom();
                SettingsEntry *ne = r >= 0 ? realloc(e, (n + 1) * sizeof(SettingsEntry)) : NULL;
                if (r >= 0 && !ne)
                        r = log_oom();
                if (r < 0) {
                        strv_free(se.args);
                        free(se.key);
                        break;
                }
                e = ne;
                e[n++] = se;
        }
        log_set_context(NULL);
        spawn_options_done(&scratch);
        if (r < 0) {
                settings_entries_free(e, n);
                return r;
        }
        *ret = e;
        *ret_n = n;
        return 0;
}

/* Which groups of fields the file sets (from_file[]): not those the command line set (unless
 * override), nor what an untrusted file may not set, which is warned about once per key, as
 * nspawn does, and only where the command line did not decide anyway. */
static int settings_decide(const SpawnOptions *o, SettingsEntry *e, size_t n, const char *path,
                           bool from_file[static _SPAWN_FIELD_MAX]) {
        _cleanup_strv_free_ char **warned = NULL;
        char ctx[PATH_MAX + 32];
        int any = 0;

        for (size_t i = 0; i < n; i++) {
                bool group[_SPAWN_FIELD_MAX], cmdline = false;
                field_group(e[i].def->field, group);
                for (int g = 0; g < _SPAWN_FIELD_MAX; g++)
                        cmdline = cmdline || (group[g] && o->source[g] == SPAWN_SOURCE_COMMAND_LINE);
                e[i].skipped = (cmdline && o->settings_mode != SETTINGS_OVERRIDE) || e[i].denied;
                if (e[i].skipped && e[i].denied && !(cmdline && o->settings_mode != SETTINGS_OVERRIDE) &&
                    !strv_contains(warned, e[i].key)) {
                        snprintf(ctx, sizeof(ctx), "%s:%u", path, e[i].line);
                        log_set_context(ctx);
                        log_warning("Ignoring %s=, %s is not trusted.", e[i].key, path);
                        log_set_context(NULL);
                        if (strv_extend(&warned, e[i].key) < 0)
                                return log_oom();
                }
                if (e[i].skipped)
                        continue;
                for (int g = 0; g < _SPAWN_FIELD_MAX; g++)
                        from_file[g] = from_file[g] || group[g];
                any = 1;
        }
        return any;
}

/* The merge proper: o rebuilt from the file's values of the groups it sets and the rest of the
 * command line. */
static int settings_merge(SpawnOptions *o, SettingsEntry *e, size_t n, const char *path, SpawnSource source,
                          int argc, char *argv[]) {
        bool from_file[_SPAWN_FIELD_MAX] = {};
        int r;

        r = settings_decide(o, e, n, path, from_file);
        if (r <= 0)
                return r;

        SpawnOptions m;
        spawn_options_init(&m);
        for (size_t i = 0; i < n; i++) {
                if (e[i].skipped)
                        continue;
                /* A flag cannot be taken back by a later "no": only a key's last boolean counts. */
                bool later = false;
                for (size_t j = i + 1; j < n && e[i].def->settings_value == SETTINGS_BOOL; j++)
                        later = later || e[j].def == e[i].def;
                if (later)
                        continue;
                r = entry_apply(&m, e + i);
                if (r < 0) {
                        spawn_options_done(&m);
                        return r;
                }
                m.source[e[i].def->field] = source;
        }
        r = spawn_options_parse_argv_skipping(&m, argc, argv, from_file);
        if (r <= 0) {
                spawn_options_done(&m);
                return r < 0 ? r : -EINVAL;
        }
        spawn_options_done(o);
        *o = m;
        return 0;
}

int spawn_settings_merge_file(SpawnOptions *o, FILE *f, const char *path, bool trusted, int argc, char *argv[]) {
        IniEntry *ie = NULL;
        SettingsEntry *e = NULL;
        size_t n_ie = 0, n = 0;
        unsigned bad = 0;
        int r;

        r = ini_parse(f, &ie, &n_ie, &bad);
        if (r == -EBADMSG)
                return log_error_errno(r, "%s:%u: Invalid line (want [Section], Key=Value or a # comment).", path, bad);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);
        r = settings_collect(ie, n_ie, path, trusted, &e, &n);
        ini_entries_free(ie, n_ie);
        if (r < 0)
                return r;
        r = settings_merge(o, e, n, path, trusted ? SPAWN_SOURCE_SETTINGS_TRUSTED : SPAWN_SOURCE_SETTINGS_UNTRUSTED, argc, argv);
        settings_entries_free(e, n);
        return r;
}

/* path made absolute (not resolved: nspawn looks next to the path as given), trailing '/' gone. */
static char *path_absolute(const char *path) {
        char *p;

        if (path[0] == '/')
                p = strdup(path);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                p = cwd ? strjoin(cwd, "/", path) : NULL;
        }
        if (!p)
                return NULL;
        for (size_t l = strlen(p); l > 1 && p[l - 1] == '/'; l--)
                p[l - 1] = 0;
        return p;
}

int settings_file_location(const SpawnOptions *o, char **ret_filename, char **ret_neighbour_dir) {
        _cleanup_free_ char *abs = NULL, *name = NULL, *dir = NULL;
        const char *given = o->image ?: o->directory;

        if (given) {
                abs = path_absolute(given);
                if (!abs)
                        return -ENOMEM;
                char *slash = strrchr(abs, '/');
                /* The host's root has no neighbours. */
                if (slash[1]) {
                        dir = strndup(abs, slash == abs ? 1 : (size_t) (slash - abs));
                        if (!dir)
                                return -ENOMEM;
                }
        } else if (o->machine) {
                /* -M NAME alone boots the image of that name in the pool. */
                dir = strdup(SPAWN_IMAGE_POOL);
                if (!dir)
                        return -ENOMEM;
        }
        if (o->machine)
                name = strdup(o->machine);
        else if (abs && dir) {
                /* As the machine name is derived: the tree's or image's name without ".raw". */
                name = strdup(strrchr(abs, '/') + 1);
                size_t l = name ? strlen(name) : 0;
                if (o->image && l > 4 && streq(name + l - 4, ".raw"))
                        name[l - 4] = 0;
                if (name)
                        hostname_cleanup(name);
        }
        if ((o->machine || (abs && dir)) && !name)
                return -ENOMEM;
        if (!name || !machine_name_is_valid(name)) {
                *ret_filename = *ret_neighbour_dir = NULL;
                return 0;
        }
        *ret_filename = strjoin(name, ".nspawn");
        if (!*ret_filename)
                return -ENOMEM;
        *ret_neighbour_dir = TAKE_PTR(dir);
        return 0;
}

/* Opens dir/filename; NULL with 0 when it does not exist. */
static int settings_open(const char *dir, const char *filename, FILE **ret_f, char **ret_path) {
        _cleanup_free_ char *p = strjoin(dir, "/", filename);
        struct stat st;

        if (!p)
                return log_oom();
        /* O_NONBLOCK: a FIFO named NAME.nspawn next to an image must not hang us before the
         * S_ISREG check below. */
        int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        FILE *f = NULL;
        if (fd < 0) {
                if (errno == ENOENT) {
                        *ret_f = NULL;
                        return 0;
                }
                return log_error_errno(errno, "Failed to open %s: %m", p);
        }
        int k = fdopen_take(fd, "re", &f);
        if (k < 0)
                return log_error_errno(k, "Failed to open %s: %m", p);
        if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
                fclose(f);
                return log_error_errno(EINVAL, "Settings file %s is not a regular file.", p);
        }
        *ret_f = f;
        *ret_path = TAKE_PTR(p);
        return 1;
}

int spawn_settings_load(SpawnOptions *o, int argc, char *argv[]) {
        _cleanup_free_ char *filename = NULL, *neighbour = NULL, *path = NULL;
        FILE *f = NULL;
        bool trusted = true;
        int r;

        if (o->settings_mode == SETTINGS_NO)
                return 0;
        r = settings_file_location(o, &filename, &neighbour);
        if (r < 0)
                return log_oom();
        if (!filename)
                return 0;

        /* The administrator's directories first; what lies next to an image came with it. */
        r = settings_open(SETTINGS_DIR_ETC, filename, &f, &path);
        if (r == 0)
                r = settings_open(SETTINGS_DIR_RUN, filename, &f, &path);
        if (r == 0 && neighbour) {
                r = settings_open(neighbour, filename, &f, &path);
                trusted = o->settings_mode == SETTINGS_TRUSTED;
        }
        if (r <= 0)
                return r;

        log_debug("Using settings file %s (%s).", path, trusted ? "trusted" : "untrusted");
        r = spawn_settings_merge_file(o, f, path, trusted, argc, argv);
        fclose(f);
        return r;
}
