#include "http/status_reply.h"

#include "transcoder/status_mapping.h"

namespace portico::http {
namespace bhttp = boost::beast::http;

Response MakeResponse(unsigned status, std::string body, std::string_view content_type) {
  Response r{static_cast<bhttp::status>(status), 11};
  r.set(bhttp::field::content_type, content_type);
  r.body() = std::move(body);
  return r;
}

Response ErrorReply(const Status& status, unsigned http_status) {
  if (http_status == 0) {
    http_status = static_cast<unsigned>(transcoder::HttpStatusFromCode(status.code()));
  }
  return MakeResponse(http_status, transcoder::StatusJson(status));
}

Response ErrorReply(const registry::CallStatus& status, const transcoder::JsonCodec* codec) {
  return MakeResponse(static_cast<unsigned>(transcoder::HttpStatusFromCode(status.code)),
                      transcoder::StatusJson(status.code, status.message, status.details_bin,
                                             codec));
}

}  // namespace portico::http
