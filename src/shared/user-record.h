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

/* The user name_or_uid of the tree at rootfd, from its /etc/passwd, with its supplementary groups
 * from its /etc/group (none if that is missing). Both are opened with open_regular_in_root_proc()
 * (procfd as there), since the tree is untrusted: a FIFO or a device planted there is refused, not
 * opened. Root ("root" or "0") exists even where the tree has no passwd or no entry for it, with
 * home /root and shell /bin/sh. -ESRCH if there is no such user. */
int user_record_lookup_in_root(int procfd, int rootfd, const char *name_or_uid, UserRecord *ret,
                               gid_t **ret_groups, size_t *ret_n_groups);
