#include "core/http_request.h"
