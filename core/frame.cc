#include "core/frame.h"
