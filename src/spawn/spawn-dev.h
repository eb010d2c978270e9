/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Populates the container's fresh /dev tmpfs (below rootfd) with the device nodes and symlinks
 * the Container Interface promises. */
int dev_setup(int rootfd);
