/* SPDX-License-Identifier: GPL-2.0 */
/* Private to libabvm. */
#ifndef AB_VM_INTERNAL_H
#define AB_VM_INTERNAL_H

#include <stddef.h>

/* The guest program's flat image (guest_blob.c, from guest.c). */
extern const unsigned char ab_vm_guest_image[];
extern const size_t ab_vm_guest_image_len;

/* Tests only: make vCPU @vcpu's guest fault on an unmapped address (x86: a
 * triple fault, KVM_EXIT_SHUTDOWN; arm64: a data abort its vectors report)
 * to exercise the failure path. ab_vm_last_error() then names the vCPU
 * and AB_VM_CRASH_WORDS. */
struct abvm;
int ab_vm_debug_crash(struct abvm *vm, int vcpu);
#if defined(__aarch64__)
#define AB_VM_CRASH_WORDS "guest exception"
#else
#define AB_VM_CRASH_WORDS "triple fault"
#endif

#endif
