/* vclaunch core: hot-plug commands from the kind tables.
 *
 * The kind that writes a device's command-line options also writes the QMP
 * commands that add it to a running QEMU, with typed JSON values (integers
 * and booleans as such, sizes in bytes): -device becomes device_add,
 * -netdev netdev_add, -object object-add, -drive (if=none) blockdev-add on
 * a file node, -chardev chardev-add (socket, file, pipe, null, pty). What
 * QMP cannot add (-fsdev: a 9p share; start-time options) is refused with
 * the reason. No call blocks. */
#ifndef VC_HOTPLUG_H
#define VC_HOTPLUG_H

#include <cjson/cJSON.h>

#include "kind.h"

/* Builds, for the finished device d, *plug: an array of {"command": name,
 * "arguments": {...}} in the order to run them (backends first, the
 * device last), and *unplug: the commands that remove what each of those
 * adds, newest first (device_del, then blockdev-del, netdev_del,
 * chardev-remove, object-del). The device needs its own id (device_del
 * names it). The caller owns both arrays. Returns 0, or < 0 with err
 * naming the device and the reason it cannot be hot-plugged. */
int vc_dev_hotplug(const vc_dev_t *d, cJSON **plug, cJSON **unplug, vc_error_t *err);

#endif
