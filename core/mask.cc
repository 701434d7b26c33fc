#include "core/mask.h"
