// SPDX-License-Identifier: GPL-2.0
/* Embeds the flat guest image built from guest.c (path from CMake). */
#include "ab_vm_internal.h"

#ifndef AB_VM_GUEST_BIN
#error "AB_VM_GUEST_BIN (path of guest.bin) must be defined by the build"
#endif

__asm__(".section .rodata\n"
	".balign 64\n"
	".global ab_vm_guest_image\n"
	".type ab_vm_guest_image, @object\n"
	"ab_vm_guest_image:\n"
	".incbin \"" AB_VM_GUEST_BIN "\"\n"
	"1:\n"
	".balign 8\n"
	".global ab_vm_guest_image_len\n"
	".type ab_vm_guest_image_len, @object\n"
	"ab_vm_guest_image_len:\n"
	".quad 1b - ab_vm_guest_image\n"
	".previous\n");
