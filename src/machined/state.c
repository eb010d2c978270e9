/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "cgroup-util.h"
#include "env-file.h"
#include "fd-util.h"
#include "job-tracker.h"
#include "log.h"
#include "machine.h"
#include "macro.h"
#include "name-util.h"
#include "parse-util.h"
#include "state.h"
#include "strv.h"
#include "unit-name.h"

#define STATE_FILE_MAX (64 * 1024)
#define CORRUPT_PREFIX "corrupt:"

/* Appends KEY=VALUE, quoting the value for env_file_parse()/systemd's parse_env_file(). Values
 * with control characters are refused: they would break the line structure. */
static int append_assignment(FILE *f, const char *key, const char *value) {
        bool plain = true;

        if (!value)
                return 0;
        for (const char *p = value; *p; p++) {
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return -EINVAL;
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@+,-", *p))
                        plain = false;
        }
        if (plain) {
                fprintf(f, "%s=%s\n", key, value);
                return 0;
        }
        fprintf(f, "%s=\"", key);
        for (const char *p = value; *p; p++) {
                if (strchr("\"\\`$", *p))
                        fputc('\\', f);
                fputc(*p, f);
        }
        fputs("\"\n", f);
        return 0;
}

static int append_u64(FILE *f, const char *key, uint64_t v) {
        fprintf(f, "%s=%" PRIu64 "\n", key, v);
        return 0;
}

int machine_serialize(Machine *m, char **ret, size_t *ret_size) {
        char *buf = NULL;
        size_t size = 0;
        int r = 0;

        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("# This is private data. Do not parse.\n", f);
        r = r ?: append_assignment(f, "NAME", m->name);
        r = r ?: append_assignment(f, "UNIT", m->unit);
        r = r ?: append_assignment(f, "SCOPE", m->unit); /* what systemd < 256 reads */
        r = r ?: append_assignment(f, "SUBGROUP", isempty(m->subgroup) ? NULL : m->subgroup);
        r = r ?: append_assignment(f, "SCOPE_JOB", tracked_job_path(m->scope_job));
        r = r ?: append_assignment(f, "SERVICE", m->service);
        r = r ?: append_assignment(f, "ROOT", m->root_directory);
        if (!id128_is_null(&m->id)) {
                /* systemd writes IDs as 32 hex digits without dashes. */
                char hex[33];
                for (size_t i = 0; i < 16; i++)
                        snprintf(hex + 2 * i, 3, "%02x", m->id.bytes[i]);
                r = r ?: append_assignment(f, "ID", hex);
        }
        r = r ?: append_assignment(f, "STATE", machine_state_to_string(m->state));
        r = r ?: append_assignment(f, "CLASS", machine_class_to_string(m->class));
        append_u64(f, "REALTIME", m->timestamp_realtime);
        append_u64(f, "MONOTONIC", m->timestamp_monotonic);
        if (!pidref_is_set(&m->leader))
                r = r ?: append_assignment(f, "NO_LEADER", "1");
        if (pidref_is_set(&m->leader)) {
                append_u64(f, "LEADER", (uint64_t) m->leader.pid);
                if (m->leader.fd_id)
                        append_u64(f, "LEADER_PIDFDID", m->leader.fd_id);
                append_u64(f, "LEADER_STARTTIME", m->leader.start_time);
        }
        if (pidref_is_set(&m->supervisor)) {
                append_u64(f, "SUPERVISOR", (uint64_t) m->supervisor.pid);
                if (m->supervisor.fd_id)
                        append_u64(f, "SUPERVISOR_PIDFDID", m->supervisor.fd_id);
                append_u64(f, "SUPERVISOR_STARTTIME", m->supervisor.start_time);
        }
        if (m->n_netif > 0) {
                fputs("NETIF=", f);
                for (size_t i = 0; i < m->n_netif; i++)
                        fprintf(f, "%s%i", i > 0 ? " " : "", m->netif[i]);
                fputc('\n', f);
        }
        if (m->vsock_cid != VSOCK_CID_UNSET)
                append_u64(f, "VSOCK_CID", m->vsock_cid);
        r = r ?: append_assignment(f, "SSH_ADDRESS", m->ssh_address);
        r = r ?: append_assignment(f, "SSH_PRIVATE_KEY_PATH", m->ssh_private_key_path);
        append_u64(f, "UID", m->uid);
        r = r ?: append_assignment(f, "CGROUP", m->cgroup);
        if (m->cgroup)
                append_u64(f, "CGROUP_OWNED", m->cgroup_owned);
        r = r ?: append_assignment(f, "BACKEND", m->manager->cgroup_ops->name);
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        *ret_size = size;
        return 0;
}

int machine_save(Machine *m) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int dirfd = m->manager->state_dir_fd;

        if (m->class == MACHINE_HOST)
                return 0; /* .host is made anew at every start */
        if (dirfd < 0)
                return -EBADF;
        int r = machine_serialize(m, &data, &size);
        if (r < 0)
                return r;
        r = write_file_atomic_at(dirfd, m->name, data, size, 0644);
        if (r < 0)
                return r;
        if (m->unit) {
                _cleanup_free_ char *link = strjoin("unit:", m->unit);
                if (!link)
                        return -ENOMEM;
                r = symlink_atomic_at(m->name, dirfd, link);
        }
        return r;
}

static void remove_unit_link(int dirfd, const char *unit, const char *name) {
        char target[MACHINE_NAME_MAX + 1];
        _cleanup_free_ char *link = strjoin("unit:", unit);
        if (!link)
                return;
        /* Only our own link: a newer machine may have taken over the unit name meanwhile. */
        ssize_t n = readlinkat(dirfd, link, target, sizeof(target) - 1);
        if (n < 0)
                return;
        target[n] = 0;
        if (streq(target, name))
                (void) unlinkat(dirfd, link, 0);
}

void machine_remove_state(Machine *m) {
        int dirfd = m->manager->state_dir_fd;
        if (dirfd < 0)
                return;
        (void) unlinkat(dirfd, m->name, 0);
        if (m->unit)
                remove_unit_link(dirfd, m->unit, m->name);
}

/* ---- loading ------------------------------------------------------------------------------- */

bool state_cgroup_is_own(const char *name, const char *cgroup) {
        if (!name || !cgroup)
                return false;
        _cleanup_free_ char *unit = unit_name_for_machine(name);
        _cleanup_free_ char *dir = unit ? cg_escape(unit) : NULL;
        _cleanup_free_ char *want = dir ? strjoin("/machine.slice/", dir) : NULL;
        return want && streq(cgroup, want);
}

static int env_get_u64(char **env, const char *key, uint64_t *ret) {
        const char *v = strv_env_get(env, key);
        if (!v)
                return -ENOENT;
        return safe_atou64(v, ret);
}

static int env_dup(char **env, const char *key, char **ret) {
        const char *v = strv_env_get(env, key);
        if (isempty(v))
                return 0;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

/* Pins a process written down as PID + start time + pidfd id. 0: still the same process, pinned;
 * -ESRCH: gone (or the PID now belongs to someone else). */
static int pidref_from_state(char **env, const char *prefix, PidRef *ret) {
        char key[64];
        uint64_t pid, start = 0, fd_id = 0;
        bool have_start, have_id;

        snprintf(key, sizeof(key), "%s", prefix);
        if (env_get_u64(env, key, &pid) < 0 || pid == 0 || pid > INT32_MAX)
                return -ENOENT;
        snprintf(key, sizeof(key), "%s_STARTTIME", prefix);
        have_start = env_get_u64(env, key, &start) >= 0;
        snprintf(key, sizeof(key), "%s_PIDFDID", prefix);
        have_id = env_get_u64(env, key, &fd_id) >= 0;
        /* A PID alone may have been reused by anyone since: without the start time or the pidfd
         * id we cannot tell, and adopt nobody (issue 11, finding 10). */
        if (!have_start && !have_id)
                return -ESRCH;

        PidRef p = PIDREF_NULL;
        int r = pidref_set_pid(&p, (pid_t) pid);
        if (r >= 0 && ((have_start && p.start_time != start) || (have_id && p.fd_id != 0 && p.fd_id != fd_id)))
                r = -ESRCH;
        if (r < 0) {
                pidref_done(&p);
                /* Keep the numbers: they are still what the machine was registered with. */
                *ret = (PidRef) { .pid = (pid_t) pid, .fd = -EBADF, .fd_id = fd_id, .start_time = start };
                return -ESRCH;
        }
        *ret = p;
        return 0;
}

int machine_deserialize(Machine *m, char **env) {
        uint64_t v;
        int r = 0;

        r = r ?: env_dup(env, "UNIT", &m->unit);
        if (!m->unit)
                r = r ?: env_dup(env, "SCOPE", &m->unit);
        r = r ?: env_dup(env, "SUBGROUP", &m->subgroup);
        r = r ?: env_dup(env, "SERVICE", &m->service);
        r = r ?: env_dup(env, "ROOT", &m->root_directory);
        r = r ?: env_dup(env, "SSH_ADDRESS", &m->ssh_address);
        r = r ?: env_dup(env, "SSH_PRIVATE_KEY_PATH", &m->ssh_private_key_path);
        r = r ?: env_dup(env, "CGROUP", &m->cgroup);
        if (r < 0)
                return r;
        if (m->cgroup && !state_cgroup_is_own(m->name, m->cgroup)) {
                log_warning("State of machine %s names cgroup %s, not its own scope: ignoring it.", m->name, m->cgroup);
                free(m->cgroup);
                m->cgroup = NULL;
        }
        const char *id = strv_env_get(env, "ID");
        if (id && id128_from_string(id, &m->id) < 0)
                m->id = (Id128) {};
        m->class = machine_class_from_string(strv_env_get(env, "CLASS"));
        MachineState st = machine_state_from_string(strv_env_get(env, "STATE"));
        m->state = st < 0 ? MACHINE_RUNNING : st;
        if (env_get_u64(env, "REALTIME", &v) >= 0)
                m->timestamp_realtime = v;
        if (env_get_u64(env, "MONOTONIC", &v) >= 0)
                m->timestamp_monotonic = v;
        if (env_get_u64(env, "UID", &v) >= 0 && v < UINT32_MAX)
                m->uid = (uid_t) v;
        if (env_get_u64(env, "VSOCK_CID", &v) >= 0 && v < UINT32_MAX)
                m->vsock_cid = (uint32_t) v;
        if (env_get_u64(env, "CGROUP_OWNED", &v) >= 0)
                m->cgroup_owned = v != 0;
        const char *netif = strv_env_get(env, "NETIF");
        if (!isempty(netif)) {
                _cleanup_free_ char *copy = strdup(netif);
                if (!copy)
                        return -ENOMEM;
                for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                        unsigned ifi;
                        if (safe_atou(w, &ifi) < 0 || ifi == 0 || ifi > INT32_MAX)
                                continue;
                        int *n = realloc(m->netif, sizeof(int) * (m->n_netif + 1));
                        if (!n)
                                return -ENOMEM;
                        m->netif = n;
                        m->netif[m->n_netif++] = (int) ifi;
                }
        }
        return 0;
}

static void discard_state(Manager *manager, const char *name, char **env) {
        const char *unit = strv_env_get(env, "UNIT") ?: strv_env_get(env, "SCOPE");
        const char *cgroup = strv_env_get(env, "CGROUP");
        const char *backend = strv_env_get(env, "BACKEND");
        uint64_t owned = 0;

        (void) env_get_u64(env, "CGROUP_OWNED", &owned);
        log_info("Machine %s went away while we were not running, cleaning up.", name);
        if (cgroup && !state_cgroup_is_own(name, cgroup)) {
                log_warning("State of machine %s names cgroup %s, not its own scope: leaving it alone.", name, cgroup);
                cgroup = NULL;
                owned = 0;
        }
        _cleanup_free_ char *own_unit = unit_name_for_machine(name);
        if (owned && (!unit || !own_unit || !streq(unit, own_unit))) {
                log_warning("State of machine %s names unit %s, not its own scope: leaving it alone.", name, strna(unit));
                owned = 0;
        }
        /* Only clean up what a backend of the same kind made; a file of systemd-machined's has
         * no CGROUP= and is left to systemd. */
        if (backend && streq(backend, manager->cgroup_ops->name))
                manager->cgroup_ops->discard(manager, unit, cgroup, owned != 0);
        (void) unlinkat(manager->state_dir_fd, name, 0);
        if (unit)
                remove_unit_link(manager->state_dir_fd, unit, name);
}

static int load_one(Manager *manager, const char *name) {
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_close_ int fd = openat(manager->state_dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat st;
        Machine *m = NULL;
        int r;

        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_size > STATE_FILE_MAX)
                return -EBADMSG;
        FILE *f = fdopen(TAKE_FD(fd), "re");
        if (!f)
                return -ENOMEM;
        r = env_file_parse(f, &env);
        fclose(f);
        if (r < 0)
                return -EBADMSG;
        const char *n = strv_env_get(env, "NAME");
        if (!n || !streq(n, name))
                return -EBADMSG;

        /* NO_LEADER=1 (our key): registered without one over Varlink, kept until unregistered.
         * Otherwise a missing LEADER means a truncated file, not a machine that went away. */
        const char *no_leader = strv_env_get(env, "NO_LEADER");
        bool leaderless = !strv_env_get(env, "LEADER") && no_leader && streq(no_leader, "1");
        PidRef leader = PIDREF_NULL;
        r = leaderless ? 0 : pidref_from_state(env, "LEADER", &leader);
        if (r == -ENOENT)
                return -EBADMSG;
        if (r < 0) {
                discard_state(manager, name, env);
                return 0;
        }
        r = machine_new(manager, name, &m);
        if (r < 0) {
                pidref_done(&leader);
                return r;
        }
        m->leader = leader;
        (void) pidref_from_state(env, "SUPERVISOR", &m->supervisor);
        r = machine_deserialize(m, env);
        if (r < 0)
                goto fail;
        if (leaderless) {
                m->announced = true;
                log_info("Adopted machine %s (no leader).", name);
                return 0;
        }
        if (manager->cgroup_ops->adopt(m) < 0)
                log_warning("Cgroup of machine %s is gone, keeping the machine since its leader still runs.", name);
        r = machine_watch_leader(m);
        if (r < 0)
                goto fail;
        m->announced = true;
        log_info("Adopted machine %s (leader %i).", name, (int) m->leader.pid);
        /* A Terminate that was under way when we died: finish it. */
        if (m->state == MACHINE_CLOSING)
                (void) manager->cgroup_ops->stop(m);
        return 0;
fail:
        machine_free(m);
        return r;
}

/* A file we cannot read is not a machine that went away: its leader may well be alive, and the
 * file is what an administrator needs to find out. Kept aside under a name no machine can have
 * (':' is not valid in one), so it is neither loaded again nor overwritten (issue 11, finding 13). */
static void keep_corrupt(Manager *manager, const char *name) {
        _cleanup_free_ char *aside = strjoin(CORRUPT_PREFIX, name);
        if (!aside || renameat(manager->state_dir_fd, name, manager->state_dir_fd, aside) < 0) {
                log_error_errno(aside ? errno : ENOMEM, "State file of machine %s is corrupt and could not be moved aside: %m", name);
                return;
        }
        log_error("State file of machine %s is corrupt, kept as %s; the machine is not adopted.", name, aside);
}

bool state_dir_names_cgroup(Manager *manager, const char *cgroup) {
        _cleanup_close_ int dfd = fcntl(manager->state_dir_fd, F_DUPFD_CLOEXEC, 3);
        bool found = false;
        if (dfd < 0)
                return true; /* cannot tell: leave it alone */
        DIR *d = fdopendir(TAKE_FD(dfd));
        if (!d)
                return true;
        rewinddir(d);
        for (struct dirent *de; !found && (de = readdir(d));) {
                const char *name = startswith(de->d_name, CORRUPT_PREFIX) ?: de->d_name;
                found = state_cgroup_is_own(name, cgroup);
        }
        closedir(d);
        return found;
}

int manager_load_state(Manager *manager) {
        _cleanup_close_ int dfd = fcntl(manager->state_dir_fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return negative_errno();
        DIR *d = fdopendir(TAKE_FD(dfd));
        if (!d)
                return negative_errno();
        rewinddir(d);
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.') {
                        /* Leftovers of an interrupted atomic write. */
                        if (startswith(de->d_name, ".#"))
                                (void) unlinkat(manager->state_dir_fd, de->d_name, 0);
                        continue;
                }
                if (startswith(de->d_name, "unit:") || startswith(de->d_name, CORRUPT_PREFIX) ||
                    !machine_name_is_valid(de->d_name))
                        continue;
                int r = load_one(manager, de->d_name);
                if (r == -EBADMSG)
                        keep_corrupt(manager, de->d_name);
                else if (r < 0)
                        log_warning_errno(r, "Failed to load state of machine %s, ignoring: %m", de->d_name);
        }
        if (manager->cgroup_ops->reconcile)
                manager->cgroup_ops->reconcile(manager);
        /* unit: links pointing at machines that are no more. */
        rewinddir(d);
        for (struct dirent *de; (de = readdir(d));) {
                const char *unit = startswith(de->d_name, "unit:");
                char target[MACHINE_NAME_MAX + 1];
                if (!unit)
                        continue;
                ssize_t n = readlinkat(manager->state_dir_fd, de->d_name, target, sizeof(target) - 1);
                if (n < 0)
                        continue;
                target[n] = 0;
                if (!manager_get_machine(manager, target))
                        (void) unlinkat(manager->state_dir_fd, de->d_name, 0);
        }
        closedir(d);
        return 0;
}
