/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>
#include <sys/types.h>

/* Users and groups of a container tree, read from its /etc/passwd and /etc/group directly: the
 * host's NSS must never answer for the guest. */
typedef struct UserRecord {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;
        char *shell;
} UserRecord;

void user_record_done(UserRecord *u);

/* Finds a user by name or by numeric uid string in a passwd-format stream.
 * -ESRCH if not found, -EBADMSG for a malformed matching line. */
int user_record_find(FILE *passwd, const char *name_or_uid, UserRecord *ret);

/* Supplementary groups of user (by name) from a group-format stream; primary excluded. */
int user_record_groups(FILE *group, const char *user, gid_t primary, gid_t **ret, size_t *ret_n);
