/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dissect-image.h"
#include "fd-util.h"
#include "image-metadata.h"
#include "os-release.h"
#include "path-util.h"

#define METADATA_FILE_MAX (64 * 1024)
/* The child's own directory: in its private mount namespace a tmpfs covers it first. */
#define METADATA_STAGE "/run/berth/stage"

void image_metadata_done(ImageMetadata *m) {
        for (size_t i = 0; i < _IMAGE_METADATA_MAX; i++) {
                free(m->files[i]);
                m->files[i] = NULL;
        }
}

static int open_metadata_file(int rootfd, ImageMetadataFile f) {
        switch (f) {
        case IMAGE_METADATA_HOSTNAME:
                return open_regular_in_root(rootfd, "/etc/hostname", METADATA_FILE_MAX);
        case IMAGE_METADATA_MACHINE_ID:
                return open_regular_in_root(rootfd, "/etc/machine-id", METADATA_FILE_MAX);
        case IMAGE_METADATA_MACHINE_INFO:
                return open_regular_in_root(rootfd, "/etc/machine-info", METADATA_FILE_MAX);
        case IMAGE_METADATA_OS_RELEASE:
                return os_release_open(rootfd);
        default:
                return -EINVAL;
        }
}

/* Record: one byte file index, four bytes length (native order, same machine), the bytes. */
static int send_file(int out, uint8_t index, const char *data, uint32_t size) {
        int r = loop_write(out, &index, 1);
        if (r >= 0)
                r = loop_write(out, &size, sizeof(size));
        if (r >= 0)
                r = loop_write(out, data, size);
        return r;
}

static int child_mount(const char *path) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        _cleanup_loop_device_ LoopDevice *d = NULL;
        int r = loop_device_make_by_path(path, true, &d);
        if (r < 0)
                return r;
        _cleanup_dissected_image_ DissectedImage *m = NULL;
        r = dissect_image_fd(d->fd, d->size, &m);
        if (r >= 0)
                r = dissected_image_acquire(m, d);
        if (r >= 0)
                r = mkdir_p(METADATA_STAGE, 0700);
        if (r >= 0 && mount("tmpfs", METADATA_STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
                r = -errno;
        if (r >= 0 && mkdir(METADATA_STAGE "/root", 0755) < 0)
                r = -errno;
        if (r >= 0)
                r = dissected_image_mount(m, METADATA_STAGE "/root", DISSECT_MOUNT_READ_ONLY);
        return r;
}

static int child_run(const char *path, int out) {
        int r = child_mount(path);
        if (r < 0)
                return r;
        _cleanup_close_ int rootfd = open(METADATA_STAGE "/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return -errno;
        for (ImageMetadataFile f = 0; f < _IMAGE_METADATA_MAX; f++) {
                _cleanup_close_ int fd = open_metadata_file(rootfd, f);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return fd;
                _cleanup_free_ char *data = NULL;
                size_t size;
                r = read_full_fd(fd, METADATA_FILE_MAX, &data, &size);
                if (r >= 0)
                        r = send_file(out, (uint8_t) f, data, (uint32_t) size);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_exact(int fd, void *buf, size_t n) {
        for (size_t done = 0; done < n;) {
                ssize_t k = read(fd, (char *) buf + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return done == 0 ? 0 : -EPROTO;
                done += (size_t) k;
        }
        return 1;
}

static int receive_files(int in, ImageMetadata *m) {
        for (;;) {
                uint8_t index;
                uint32_t size;
                int r = read_exact(in, &index, 1);
                if (r <= 0)
                        return r;
                if (read_exact(in, &size, sizeof(size)) <= 0 || index >= _IMAGE_METADATA_MAX ||
                    size > METADATA_FILE_MAX)
                        return -EPROTO;
                char *data = malloc(size + 1);
                if (!data)
                        return -ENOMEM;
                if (size > 0 && read_exact(in, data, size) <= 0) {
                        free(data);
                        return -EPROTO;
                }
                data[size] = '\0';
                free(m->files[index]);
                m->files[index] = data;
        }
}

int image_metadata_read(const char *path, ImageMetadata *ret) {
        _cleanup_close_pair_ int pipefd[2] = { -EBADF, -EBADF };
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                pipefd[0] = safe_close(pipefd[0]);
                int r = child_run(path, pipefd[1]);
                /* The errno travels in the exit status: 0 success, else its value (< 256). */
                _exit(r < 0 ? MIN(-r, 255) : 0);
        }
        pipefd[1] = safe_close(pipefd[1]);

        ImageMetadata m = {};
        int r = receive_files(pipefd[0], &m);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        image_metadata_done(&m);
                        return -errno;
                }
        if (!WIFEXITED(status))
                r = -EIO;
        else if (WEXITSTATUS(status) != 0)
                r = -WEXITSTATUS(status);
        if (r < 0) {
                image_metadata_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}
