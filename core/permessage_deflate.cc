#include "core/permessage_deflate.h"
