/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* User namespaces (issue 10, item 5): what --private-users= and --private-users-ownership= ask
 * for, and how a free 65536-sized ID range is picked the way systemd-nspawn picks one. The
 * parsers and the picking are pure so the unit tests cover them; only userns_range_lock() and
 * userns_host_ids_load() touch the host. */

typedef enum UsernsMode {
        USERNS_NO,        /* no user namespace (the command line's default, as nspawn's) */
        USERNS_FIXED,     /* BASE[:SIZE] */
        USERNS_TREE,      /* yes: the base is the owner of the tree's root directory */
        USERNS_PICK,      /* pick (and -U): a free range, the tree owner's or one from the name */
        USERNS_IDENTITY,  /* 0:65536 mapped onto itself */
        _USERNS_MODE_MAX,
        _USERNS_MODE_INVALID = -EINVAL,
} UsernsMode;

typedef enum UsernsOwnership {
        USERNS_OWNERSHIP_OFF,
        USERNS_OWNERSHIP_CHOWN,
        USERNS_OWNERSHIP_MAP,
        USERNS_OWNERSHIP_AUTO,
        _USERNS_OWNERSHIP_MAX,
        _USERNS_OWNERSHIP_INVALID = -EINVAL,
} UsernsOwnership;

typedef struct UsernsSpec {
        UsernsMode mode;
        uint32_t base;    /* USERNS_FIXED (and USERNS_IDENTITY: 0) */
        uint32_t size;    /* 65536 unless BASE:SIZE says otherwise */
} UsernsSpec;

#define USERNS_RANGE_SIZE UINT32_C(0x10000)
/* nspawn's window for picked ranges: above the IDs distributions hand out, below the ones
 * systemd-homed and the dynamic users use. */
#define USERNS_PICK_MIN UINT32_C(0x00080000)   /* 524288 */
#define USERNS_PICK_MAX UINT32_C(0x6FFF0000)   /* 1878982656: the last base of the window */

const char *userns_mode_to_string(UsernsMode m);
UsernsMode userns_mode_from_string(const char *s);
const char *userns_ownership_to_string(UsernsOwnership o);
UsernsOwnership userns_ownership_from_string(const char *s);

/* --private-users=no|yes|pick|identity|BASE[:SIZE] (also true/false words). -EINVAL on words
 * it does not know, -ERANGE for a size of 0 or a range past UINT32_MAX. */
int userns_spec_parse(const char *s, UsernsSpec *ret);

/* Whether [base, base+size) holds any of ids[]. */
bool userns_range_overlaps(uint32_t base, uint32_t size, const uint32_t *ids, size_t n_ids);

/* Appends the third field (the UID or GID) of every passwd/group line of f to *ids. */
int userns_ids_read(FILE *f, uint32_t **ids, size_t *n_ids);

/* The base derived from the machine name: a 64-bit FNV-1a hash onto the window's ranges. */
uint32_t userns_base_from_name(const char *name);

/* The i-th candidate for the machine: 0 is the tree owner's range when tree_owner is a multiple of
 * 65536 inside the window, then the name's range and the ranges after it, wrapping in the window.
 * So a machine gets the same range again as long as nobody took it. */
uint32_t userns_candidate(const char *name, uid_t tree_owner, unsigned i);

/* Picks the first candidate that no host ID overlaps and locked() does not refuse (locked() may
 * take the range's lock as a side effect; it returns > 0 when taken by someone else, 0 when
 * now ours, < 0 on error). -EBUSY when every candidate is taken. */
typedef int (*userns_lock_fn)(uint32_t base, void *userdata);
int userns_pick(const char *name, uid_t tree_owner, const uint32_t *host_ids, size_t n_host_ids,
                userns_lock_fn lock, void *userdata, uint32_t *ret_base);

/* The IDs of every host user and group in root's /etc/passwd and /etc/group (root "" or NULL:
 * the host's). */
int userns_host_ids_load(const char *root, uint32_t **ret_ids, size_t *ret_n);

/* Takes the lock file of the range under dir (/run/berth/userns), flock'd; > 0 when another
 * running container holds it, 0 with *ret_fd set when now ours. */
#define USERNS_LOCK_DIR "/run/berth/userns"
int userns_range_lock(const char *dir, uint32_t base, int *ret_fd);
/* Releases the lock taken above and removes its file. */
void userns_range_unlock(const char *dir, uint32_t base, int fd);

/* The supervisor's half of -U: maps 0..size-1 of pid's user namespace onto base.. for UIDs and
 * GIDs alike (setgroups stays allowed: the writer is privileged). */
int userns_write_maps(pid_t pid, uint32_t base, uint32_t size);

/* --private-users-ownership=chown: every file of dir (not crossing mounts) to base + its ID modulo
 * 65536, the root directory last; a no-op when the root directory is base's already, which is
 * how a shifted tree is recognised (as systemd-nspawn does). The named users and groups of POSIX
 * ACLs are shifted alike, and file capabilities (which chown() drops) are written back with the
 * container's root as their root ID. cross_mounts: also the file systems mounted below dir (the
 * partitions of a disk image). */
int userns_shift_tree(const char *dir, uint32_t base, bool cross_mounts);

/* A user namespace fd whose only UID and GID map line is "from to size", owned by nobody once
 * returned (its process is gone): the ID mapping of an idmapped mount. Returns the fd or -errno. */
int userns_make_fd(uint32_t from, uint32_t to, uint32_t size);
/* Waits for the helpers userns_make_fd() left exiting (it does not wait for them itself). */
void userns_helpers_reap(void);

/* A detached copy of the mount at path below dirfd ("" : dirfd itself), recursive or not, with
 * the ID mapping of userns_fd on every mount of it; move_mount() attaches it, closing it
 * unattached discards it. Returns the fd, or -errno: -EINVAL (or -EPERM, -EOPNOTSUPP) when a file
 * system of it cannot be idmapped. */
int userns_idmap_clone(int dirfd, const char *path, bool recursive, int userns_fd);

/* -U with a network namespace of the container's own: the user namespace and the network
 * namespace it owns, made by the supervisor before the container's clone, so the guest's root has
 * CAP_NET_ADMIN over its links (a namespace the first clone made would be the host user
 * namespace's). A helper process holds both while the supervisor moves links in by its pid; the
 * container's child is cloned into the network namespace (userns_holder_clone()) and joins the
 * user namespace (setns on userns_fd) where it would otherwise have unshared one. */
typedef struct UsernsHolder {
        pid_t pid;          /* the helper, 0: none */
        int pidfd;
        int userns_fd;      /* ID maps written */
        int netns_fd;
} UsernsHolder;

#define USERNS_HOLDER_NULL { .pid = 0, .pidfd = -EBADF, .userns_fd = -EBADF, .netns_fd = -EBADF }

/* Makes the namespaces and maps 0..size-1 onto base. The helper dies with its parent. */
int userns_holder_start(uint32_t base, uint32_t size, UsernsHolder *ret);
/* clone_with_pidfd(flags) from inside h's network namespace when it has one (flags without
 * CLONE_NEWNET then), so the child is never in the host's, not even before its first step (the
 * registry reads the leader's addresses from /proc/PID/ns/net). The caller's thread is back in
 * its own namespace on return; in the child it stays. */
pid_t userns_holder_clone(const UsernsHolder *h, uint64_t flags, int *ret_pidfd);
/* Kills the helper once nothing needs its pid any more (the namespaces live on in whoever joined
 * them or holds the fds); reaped by userns_holder_done(). */
void userns_holder_release(UsernsHolder *h);
/* Closes the fds (the supervisor's copies, once the child has its own) but not the helper. */
void userns_holder_close_fds(UsernsHolder *h);
void userns_holder_done(UsernsHolder *h);
