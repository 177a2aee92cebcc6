#include "pipeline/events.h"

#include "common/error.h"

namespace oc::pipeline {

std::optional<engine::Event> read_events(engine::RequestHandle& handle, const EventHandler& handler) {
  using Clock = std::chrono::steady_clock;
  constexpr std::chrono::milliseconds kPoll{100};
  auto keep_going = [&] { return !handler.keep_going || handler.keep_going(); };
  auto last_check = Clock::now();
  for (;;) {
    std::optional<engine::Event> ev = handle.next(kPoll);
    if (!ev || Clock::now() - last_check >= kPoll) {
      last_check = Clock::now();
      if (!keep_going()) {
        handle.cancel();
        return std::nullopt;
      }
    }
    if (!ev) {
      if (handle.finished()) throw Error(ErrorKind::Internal, "generation ended without a result");
      continue;
    }
    bool go_on = true;
    switch (ev->kind) {
      case engine::Event::Kind::Delta:
        go_on = !handler.delta || handler.delta(*ev);
        break;
      case engine::Event::Kind::Finish:
        if (ev->finish_reason == engine::FinishReason::Cancelled) {
          go_on = keep_going();
          if (go_on) throw Error(ErrorKind::Cancelled, "the request was cancelled (server shutting down)");
        } else {
          go_on = !handler.finish || handler.finish(*ev);
        }
        break;
      case engine::Event::Kind::Done:
        return std::move(*ev);
      case engine::Event::Kind::Error:
        throw Error(ev->error_kind, ev->message);
    }
    if (!go_on) {
      handle.cancel();
      return std::nullopt;
    }
  }
}

}  // namespace oc::pipeline
