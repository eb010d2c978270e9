/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Removes name in dirfd and, for a directory, everything below it: never following symlinks and
 * never descending into another file system (a mount below is -EXDEV, and nothing of it is
 * touched). For image trees, whose content is untrusted. */
int rm_rf_at(int dirfd, const char *name);
