/* Device kinds: platform. See core/kinds.c for how a kind is declared. */
#include "kinds_def.h"

const vc_kind_t *const vc__kinds_platform[] = {
    NULL,
};
