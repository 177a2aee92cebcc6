// Placeholder so that the interface links; the implementation follows.
#include "engine/engine.h"

namespace oc::engine {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop:
      return "stop";
    case FinishReason::Length:
      return "length";
    case FinishReason::Cancelled:
      return "cancelled";
  }
  return "stop";
}

struct RequestState {
  std::string id;
};

RequestHandle::RequestHandle(std::shared_ptr<RequestState> state) : state_(std::move(state)) {}
RequestHandle::RequestHandle(RequestHandle&&) noexcept = default;
RequestHandle& RequestHandle::operator=(RequestHandle&&) noexcept = default;
RequestHandle::~RequestHandle() = default;
std::optional<Event> RequestHandle::next(std::chrono::milliseconds) { return std::nullopt; }
void RequestHandle::cancel() {}
bool RequestHandle::finished() const { return true; }
const std::string& RequestHandle::id() const { return state_->id; }

struct Engine::Impl {
  std::shared_ptr<models::Model> model;
  EngineConfig config;
};

Engine::Engine(std::shared_ptr<models::Model> model, EngineConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->model = std::move(model);
  impl_->config = config;
}
Engine::~Engine() = default;
RequestHandle Engine::submit(GenerationRequest) { throw Error(ErrorKind::Unavailable, "engine not implemented yet"); }
EngineStats Engine::stats() const { return {}; }
const models::Model& Engine::model() const { return *impl_->model; }
std::shared_ptr<models::Model> Engine::shared_model() const { return impl_->model; }
size_t Engine::context_length() const { return impl_->model->context_length(); }
void Engine::shutdown(bool) {}

}  // namespace oc::engine
