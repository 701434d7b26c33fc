#include "core/close_code.h"
