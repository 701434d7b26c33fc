#include "core/message_reader.h"
