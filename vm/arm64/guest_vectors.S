/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest_vectors.S - the abvm guest program's exception vectors on arm64
 * (VBAR_EL1). The guest runs with interrupts masked and expects no
 * exception at all: every vector passes its index to guest_exception(),
 * which reports it to the host through the sync MMIO page and stops, as an
 * x86 exception without an IDT ends in a triple fault.
 */
	.section .text.vectors, "ax"
	.balign 2048
	.global ab_vm_vectors
ab_vm_vectors:
	.irp vec, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	.balign 128
	mov	x0, #\vec
	b	guest_exception
	.endr
	.balign 128
