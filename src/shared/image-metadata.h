/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What machined shows about a disk image without starting it: the raw bytes of its
 * /etc/hostname, /etc/machine-id, /etc/machine-info and os-release (NULL where the image has
 * none), for the callers' parsers. */
typedef enum ImageMetadataFile {
        IMAGE_METADATA_HOSTNAME,
        IMAGE_METADATA_MACHINE_ID,
        IMAGE_METADATA_MACHINE_INFO,
        IMAGE_METADATA_OS_RELEASE,
        _IMAGE_METADATA_MAX,
} ImageMetadataFile;

typedef struct ImageMetadata {
        char *files[_IMAGE_METADATA_MAX];
} ImageMetadata;

void image_metadata_done(ImageMetadata *m);

/* Reads them from the disk image or block device at path: a child attaches a read-only loop
 * device, dissects and mounts the image read-only in a mount namespace of its own and sends the
 * files back; when it exits its mounts and the autoclear loop device go. The image is untrusted:
 * files are resolved inside it and bounded. Needs CAP_SYS_ADMIN. */
int image_metadata_read(const char *path, ImageMetadata *ret);
