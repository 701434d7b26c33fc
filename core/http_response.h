// Serializing HTTP/1.1 responses: plain request answers and handshake errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/http_request.h"

namespace wsd::core {

// Standard reason phrase ("Not Found"), or "Unknown".
std::string_view http_status_text(int status);

// Status line, headers (Content-Length added unless present, Connection: close
// when !keep_alive), blank line, body.
std::string serialize_http_response(int status, const std::vector<HttpHeader>& headers,
                                    std::string_view body, bool keep_alive);

// A short error answer with a text/plain body naming the status, and
// Connection: close.
std::string http_error_response(int status, const std::vector<HttpHeader>& extra_headers = {});

}  // namespace wsd::core
