/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"
#include "user-record.h"

void user_record_done(UserRecord *u) {
        free(u->name);
        free(u->home);
        free(u->shell);
        *u = (UserRecord) {};
}

/* Splits a colon-separated line into exactly n fields, in place. */
static int split_fields(char *line, char **fields, size_t n) {
        line[strcspn(line, "\n")] = 0;
        for (size_t i = 0; i < n; i++) {
                fields[i] = line;
                char *c = strchr(line, ':');
                if (!c)
                        return i == n - 1 ? 0 : -EBADMSG;
                if (i == n - 1)
                        return -EBADMSG;
                *c = 0;
                line = c + 1;
        }
        return 0;
}

int user_record_find(FILE *passwd, const char *name_or_uid, UserRecord *ret) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        unsigned want_uid;
        bool by_uid = safe_atou(name_or_uid, &want_uid) >= 0;

        while (getline(&line, &size, passwd) >= 0) {
                char *f[7];
                unsigned uid, gid;

                if (line[0] == '#' || line[0] == '+' || line[0] == '-')
                        continue;
                if (split_fields(line, f, 7) < 0)
                        continue;
                if (by_uid ? (safe_atou(f[2], &uid) < 0 || uid != want_uid) : !streq(f[0], name_or_uid))
                        continue;
                if (safe_atou(f[2], &uid) < 0 || safe_atou(f[3], &gid) < 0)
                        return -EBADMSG;

                UserRecord u = {
                        .name = strdup(f[0]),
                        .uid = uid,
                        .gid = gid,
                        .home = strdup(isempty(f[5]) ? "/" : f[5]),
                        .shell = strdup(isempty(f[6]) ? "/bin/sh" : f[6]),
                };
                if (!u.name || !u.home || !u.shell) {
                        user_record_done(&u);
                        return -ENOMEM;
                }
                *ret = u;
                return 0;
        }
        return -ESRCH;
}

int user_record_groups(FILE *group, const char *user, gid_t primary, gid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *line = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        size_t size = 0, n = 0;

        while (getline(&line, &size, group) >= 0) {
                char *f[4];
                unsigned gid;

                if (line[0] == '#' || split_fields(line, f, 4) < 0 || safe_atou(f[2], &gid) < 0)
                        continue;
                if (gid == primary)
                        continue;
                for (char *m = strtok(f[3], ","); m; m = strtok(NULL, ","))
                        if (streq(m, user)) {
                                gid_t *g = realloc(gids, sizeof(gid_t) * (n + 1));
                                if (!g)
                                        return -ENOMEM;
                                gids = g;
                                gids[n++] = gid;
                                break;
                        }
        }
        *ret = TAKE_PTR(gids);
        *ret_n = n;
        return 0;
}

/* Bounds what a hostile tree can make us read; real user databases are far smaller. */
#define USER_DB_MAX (16U * 1024U * 1024U)

static int fopen_in_root(int procfd, int rootfd, const char *path, FILE **ret) {
        int fd = open_regular_in_root_proc(procfd, rootfd, path, USER_DB_MAX);
        if (fd < 0)
                return fd;
        return fdopen_take(fd, "re", ret);
}

int user_record_lookup_in_root(int procfd, int rootfd, const char *name_or_uid, UserRecord *ret,
                               gid_t **ret_groups, size_t *ret_n_groups) {
        _cleanup_(user_record_done) UserRecord u = {};
        _cleanup_free_ gid_t *groups = NULL;
        size_t n_groups = 0;
        FILE *f;

        int r = fopen_in_root(procfd, rootfd, "/etc/passwd", &f);
        if (r >= 0) {
                r = user_record_find(f, name_or_uid, &u);
                fclose(f);
        }
        if ((r == -ENOENT || r == -ESRCH) && (streq(name_or_uid, "root") || streq(name_or_uid, "0"))) {
                u = (UserRecord) { .name = strdup("root"), .home = strdup("/root"), .shell = strdup("/bin/sh") };
                r = u.name && u.home && u.shell ? 0 : -ENOMEM;
        } else if (r == -ENOENT)
                r = -ESRCH; /* no user database: nobody but root */
        if (r < 0)
                return r;

        r = fopen_in_root(procfd, rootfd, "/etc/group", &f);
        if (r >= 0) {
                r = user_record_groups(f, u.name, u.gid, &groups, &n_groups);
                fclose(f);
        }
        if (r < 0 && r != -ENOENT)
                return r;

        *ret = u;
        u = (UserRecord) {};
        *ret_groups = TAKE_PTR(groups);
        *ret_n_groups = n_groups;
        return 0;
}
