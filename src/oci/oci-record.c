/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "oci-record.h"
#include "strv.h"

void oci_record_done(OciRecord *s) {
        free(s->id);
        free(s->bundle);
        free(s->rootfs);
        free(s->created);
        free(s->cgroup_path);
        strv_free(s->annotations);
        *s = (OciRecord) {};
}

bool oci_id_is_valid(const char *id) {
        if (isempty(id) || strlen(id) > 1024 || streq(id, ".") || streq(id, ".."))
                return false;
        for (const char *p = id; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-", *p))
                        return false;
        return true;
}

/* Field 22 of /proc/PID/stat, and the state letter (field 3) through ret_state. */
static int pid_stat(pid_t pid, unsigned long long *ret_start, char *ret_state) {
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        int r = read_file_buffer(path, buf, sizeof(buf));
        if (r < 0)
                return r;
        /* The command name may hold spaces and parentheses: count from the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        char state = 0;
        unsigned long long start = 0;
        /* After ")": state(3) then fields 4..21, then starttime (22). */
        if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                   &state, &start) != 2)
                return -EIO;
        if (ret_start)
                *ret_start = start;
        if (ret_state)
                *ret_state = state;
        return 0;
}

int oci_pid_start_time(pid_t pid, unsigned long long *ret) {
        return pid_stat(pid, ret, NULL);
}

int oci_record_open_locked(const char *root, const char *id, int *ret_dirfd) {
        _cleanup_free_ char *path = strjoin_many(root, "/", id, NULL);
        if (!path)
                return -ENOMEM;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX) < 0)
                return -errno;
        /* delete may have removed it while we waited for the lock. */
        if (faccessat(fd, "state.json", F_OK, 0) < 0)
                return -ENOENT;
        *ret_dirfd = TAKE_FD(fd);
        return 0;
}

static char *dup_string(json_object *o, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return strdup(json_object_get_string(v));
}

static json_object *annotations_to_json(char * const *pairs) {
        json_object *o = json_object_new_object();
        for (size_t i = 0; o && pairs && pairs[i] && pairs[i + 1]; i += 2)
                json_object_object_add(o, pairs[i], json_object_new_string(pairs[i + 1]));
        return o;
}

int oci_record_read(int dirfd, OciRecord *ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dirfd, "state.json", 1 << 20, &text, NULL);
        if (r < 0)
                return r;
        json_object *o = json_tokener_parse(text), *v;
        if (!o)
                return -EBADMSG;
        OciRecord s = {
                .id = dup_string(o, "id"),
                .bundle = dup_string(o, "bundle"),
                .rootfs = dup_string(o, "rootfs"),
                .created = dup_string(o, "created"),
                .cgroup_path = dup_string(o, "cgroupPath"),
        };
        if (json_object_object_get_ex(o, "pid", &v))
                s.pid = (pid_t) json_object_get_int(v);
        if (json_object_object_get_ex(o, "pidStart", &v))
                s.pid_start = json_object_get_uint64(v);
        if (json_object_object_get_ex(o, "annotations", &v) && json_object_is_type(v, json_type_object)) {
                json_object_object_foreach(v, key, val)
                        if (strv_extend(&s.annotations, key) < 0 ||
                            strv_extend(&s.annotations, json_object_get_string(val)) < 0)
                                r = -ENOMEM;
        }
        json_object_put(o);
        if (r < 0 || !s.id || !s.bundle) {
                oci_record_done(&s);
                return r < 0 ? r : -EBADMSG;
        }
        *ret = s;
        return 0;
}

int oci_record_write(int dirfd, const OciRecord *s) {
        json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "id", json_object_new_string(s->id));
        json_object_object_add(o, "pid", json_object_new_int(s->pid));
        json_object_object_add(o, "pidStart", json_object_new_uint64(s->pid_start));
        json_object_object_add(o, "bundle", json_object_new_string(s->bundle));
        json_object_object_add(o, "rootfs", json_object_new_string(s->rootfs ?: ""));
        json_object_object_add(o, "created", json_object_new_string(s->created ?: ""));
        json_object_object_add(o, "cgroupPath", json_object_new_string(s->cgroup_path ?: ""));
        json_object_object_add(o, "annotations", annotations_to_json(s->annotations));
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        int r = write_file_atomic_at(dirfd, "state.json", text, strlen(text), 0644);
        json_object_put(o);
        return r;
}

OciStatus oci_record_status(int dirfd, const OciRecord *s) {
        unsigned long long start;
        char state;
        if (s->pid <= 0 || pid_stat(s->pid, &start, &state) < 0 || start != s->pid_start ||
            state == 'Z' || state == 'X')
                return OCI_STATUS_STOPPED;
        if (faccessat(dirfd, "exec.fifo", F_OK, 0) >= 0)
                return OCI_STATUS_CREATED;
        return OCI_STATUS_RUNNING;
}

int oci_record_format_state(const OciRecord *r, OciStatus status, char **ret) {
        OciState st = {
                .oci_version = OCI_RUNTIME_SPEC_VERSION,
                .id = r->id,
                .status = status,
                .pid = status == OCI_STATUS_STOPPED ? 0 : r->pid,
                .bundle = r->bundle,
                .annotations = r->annotations,
        };
        return oci_state_format(&st, ret);
}

json_object *oci_record_to_json(const OciRecord *r, OciStatus status, bool paused) {
        _cleanup_free_ char *text = NULL;
        if (oci_record_format_state(r, status, &text) < 0)
                return NULL;
        json_object *o = json_tokener_parse(text);
        if (!o)
                return NULL;
        /* runc prints these too, and go-runc reads them; pid 0 rather than none when stopped. */
        if (!json_object_object_get_ex(o, "pid", NULL))
                json_object_object_add(o, "pid", json_object_new_int(0));
        json_object_object_add(o, "rootfs", json_object_new_string(r->rootfs ?: ""));
        json_object_object_add(o, "created", json_object_new_string(r->created ?: ""));
        json_object_object_add(o, "owner", json_object_new_string(""));
        if (paused && status == OCI_STATUS_RUNNING)
                json_object_object_add(o, "status", json_object_new_string("paused"));
        return o;
}
