// Reading a submitted request's events to the end, as every endpoint and command does: deltas and
// finished choices to the caller, the caller's "stop" (a client gone, Ctrl-C) turned into a
// cancellation, failures into oc::Error.
#pragma once

#include <functional>
#include <optional>

#include "engine/engine.h"

namespace oc::pipeline {

struct EventHandler {
  // A Delta event (text and tokens of one choice). false: stop reading.
  std::function<bool(engine::Event&)> delta;
  // A choice's Finish event (never a cancelled one). false: stop reading.
  std::function<bool(engine::Event&)> finish;
  // Polled while waiting for events, at least every 100 ms. false: stop reading.
  std::function<bool()> keep_going;
};

// Reads `handle` up to its Done event and returns it; nullopt when the handler stopped reading
// (the request is then cancelled). Throws oc::Error for an Error event, for a choice the engine
// cancelled while the handler still reads (Cancelled: the server is shutting down), and when the
// events end without Done (Internal). Unset handler members mean "go on".
std::optional<engine::Event> read_events(engine::RequestHandle& handle, const EventHandler& handler);

}  // namespace oc::pipeline
