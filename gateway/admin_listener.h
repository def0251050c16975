// The admin listener's handlers (DESIGN sections 4 and 14): every request and WebSocket
// upgrade passes AdminAuth once (http/admin_auth.h), then goes to the console (its files,
// login and logout, /console/call through the data plane's FrontDoor or WsBridge) or to the
// admin API. Upgrades other than /console/call/... get 404.
// Thread safety: the handlers run on the admin listener's thread; what they borrow is
// thread-safe. Ownership: borrows all four, which must outlive the listener.
#pragma once

#include "http/admin_auth.h"
#include "http/admin_handler.h"
#include "http/console_handler.h"
#include "http/exchange.h"
#include "ws/ws_bridge.h"

namespace portico::gateway {

http::Handlers AdminListenerHandlers(const http::AdminAuth& auth, const http::AdminHandler& admin,
                                     const http::ConsoleHandler& console, const ws::WsBridge& ws);

}  // namespace portico::gateway
