/* SPDX-License-Identifier: GPL-2.0 */
/* Private to libabvm. */
#ifndef ABVM_INTERNAL_H
#define ABVM_INTERNAL_H

#include <stddef.h>

/* The guest program's flat image (guest_blob.c, from guest.c). */
extern const unsigned char abvm_guest_image[];
extern const size_t abvm_guest_image_len;

/* Tests only: make vCPU @vcpu's guest fault on an unmapped address (a
 * triple fault, KVM_EXIT_SHUTDOWN) to exercise the failure path. */
struct abvm;
int abvm_debug_crash(struct abvm *vm, int vcpu);

#endif
