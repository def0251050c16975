#include "http/h2_session.h"

#include <boost/asio/write.hpp>

#include "http/request_checks.h"

namespace portico::http {

// Placeholder until the HTTP/2 server lands: refuse in HTTP/2's own words (GOAWAY), as before.
void StartH2Session(DataStream stream, std::shared_ptr<HttpServer::State>, ConnectionSlot slot,
                    std::string) {
  auto state = std::make_shared<std::pair<DataStream, std::string>>(
      std::move(stream), Http2Refusal("HTTP/2 is not served on this port yet; use HTTP/1.1"));
  boost::asio::async_write(state->first, boost::asio::buffer(state->second),
                           [state, slot = std::make_shared<ConnectionSlot>(std::move(slot))](
                               boost::system::error_code, std::size_t) {
                             boost::system::error_code ignored;
                             state->first.socket().shutdown(DataStream::Socket::shutdown_both,
                                                            ignored);
                           });
}

}  // namespace portico::http
