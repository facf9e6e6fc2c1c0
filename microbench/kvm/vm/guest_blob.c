// SPDX-License-Identifier: GPL-2.0
/* Embeds the flat guest image built from guest.c (path from CMake). */
#include "abvm_internal.h"

#ifndef ABVM_GUEST_BIN
#error "ABVM_GUEST_BIN (path of guest.bin) must be defined by the build"
#endif

__asm__(".section .rodata\n"
	".balign 64\n"
	".global abvm_guest_image\n"
	".type abvm_guest_image, @object\n"
	"abvm_guest_image:\n"
	".incbin \"" ABVM_GUEST_BIN "\"\n"
	"1:\n"
	".balign 8\n"
	".global abvm_guest_image_len\n"
	".type abvm_guest_image_len, @object\n"
	"abvm_guest_image_len:\n"
	".quad 1b - abvm_guest_image\n"
	".previous\n");
