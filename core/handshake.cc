#include "core/handshake.h"
