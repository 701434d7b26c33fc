#include "core/http_response.h"
