// SPDX-License-Identifier: GPL-2.0
/* backend_stubs.c - stand-ins for backends this tree does not build. */
#include "ab_bench_config.h"

#include <stdio.h>

#ifdef AB_STUB_MODEL
int ab_model_register(const struct ab_bench_config *cfg, char *err, size_t errlen)
{
	snprintf(err, errlen, "the model backend is not part of this build");
	return -1;
}
#endif

#ifdef AB_STUB_KVM
int ab_kvm_register(const struct ab_bench_config *cfg, char *err, size_t errlen)
{
	snprintf(err, errlen, "the kvm backend is not part of this build");
	return -1;
}
#endif
