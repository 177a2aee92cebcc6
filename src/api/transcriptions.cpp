// POST /v1/audio/transcriptions and /v1/audio/translations on an audio-capable chat model: the
// upload is decoded at the model's sample rate, split into encoder windows, and each window is
// one chat generation ("Transcribe this audio." beside the audio); the window texts are joined.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "api/errors.h"
#include "api/handlers.h"
#include "api/transcription.h"
#include "common/strings.h"
#include "media/audio.h"
#include "pipeline/events.h"

namespace oc::api {
namespace {

using json = nlohmann::json;
// Tokens one window may produce: 30 s of fast speech is well under 200 tokens; the cap stops a
// model that loops.
constexpr int kWindowMaxTokens = 448;

[[noreturn]] void invalid(const std::string& param, const std::string& message, const std::string& code) {
  throw Error(ErrorKind::InvalidRequest, message, param, code);
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string random_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return std::string("transcr-") + buf;
}

// One encoder window of the upload, its prompt, and what the model said about it.
struct Window {
  double start = 0, end = 0;  // seconds
  pipeline::Prepared prompt;
  std::string text;          // trimmed
  std::vector<int32_t> ids;  // sampled ids (without the one that ended the window)
  double logprob_sum = 0;
  int logprob_count = 0;
};

struct Totals {
  int prompt_tokens = 0, completion_tokens = 0, audio_tokens = 0;
  void add(const engine::Usage& u) {
    prompt_tokens += u.prompt_tokens;
    completion_tokens += u.completion_tokens;
    audio_tokens += u.audio_tokens;
  }
};

json token_usage(const Totals& t) {
  return {
      {"type", "tokens"},
      {"input_tokens", t.prompt_tokens},
      {"input_token_details", {{"text_tokens", t.prompt_tokens - t.audio_tokens}, {"audio_tokens", t.audio_tokens}}},
      {"output_tokens", t.completion_tokens},
      {"total_tokens", t.prompt_tokens + t.completion_tokens}};
}

// Joins the windows' texts the way the segments are joined (each trimmed, one space between
// non-empty ones) while they stream: leading whitespace of a window is dropped and trailing
// whitespace is held back until more text follows.
class TextJoiner {
 public:
  void start_window() {
    in_window_ = false;
    pending_.clear();
  }
  std::string push(const std::string& delta) {
    std::string s = pending_ + delta;
    pending_.clear();
    if (!in_window_) {
      const size_t b = s.find_first_not_of(kAsciiSpace);
      if (b == std::string::npos) return {};
      s.erase(0, b);
      in_window_ = true;
      if (emitted_) s.insert(0, " ");
    }
    const size_t e = s.find_last_not_of(kAsciiSpace);
    const size_t keep = e == std::string::npos ? 0 : e + 1;
    pending_ = s.substr(keep);
    s.resize(keep);
    if (!s.empty()) emitted_ = true;
    return s;
  }

 private:
  bool in_window_ = false, emitted_ = false;
  std::string pending_;
};

// Runs one window's generation to its end. on_text gets each text delta and returns false when the
// client is gone; connected() is polled while waiting. Returns false when the client went away (the
// request is then cancelled).
bool generate(engine::RequestHandle& handle, Window& w, Totals& totals, RequestTrace& trace,
              const std::function<bool(const std::string&)>& on_text, const std::function<bool()>& connected) {
  pipeline::EventHandler h;
  h.keep_going = connected;
  h.delta = [&](engine::Event& ev) {
    w.text += ev.text;
    trace.tokens(0, ev.tokens.size());
    for (const auto& t : ev.tokens) {
      w.ids.push_back(t.id);
      w.logprob_sum += t.logprob;
      w.logprob_count++;
    }
    return ev.text.empty() || on_text(ev.text);
  };
  std::optional<engine::Event> done = pipeline::read_events(handle, h);
  if (!done) return false;
  trace.done(done->usage, done->timings);
  totals.add(done->usage);
  w.text = trim_ascii(w.text);
  return true;
}

// The request of one window (its prompt moves out of the window).
std::pair<pipeline::Prepared, engine::GenerationRequest> window_request(const std::string& id, size_t index, Window& w,
                                                                        const TranscriptionRequest& tr,
                                                                        size_t context) {
  engine::GenerationRequest gr;
  gr.id = id + "-" + std::to_string(index);
  gr.sampling.temperature = static_cast<float>(tr.temperature.value_or(0.0));
  const size_t used = w.prompt.prompt.ids.size();
  int room = context > used ? static_cast<int>(std::min<size_t>(context - used, kWindowMaxTokens)) : 1;
  gr.max_tokens = room;
  gr.logprobs = tr.response_format == "verbose_json";
  gr.skip_special_tokens = true;
  return {std::move(w.prompt), std::move(gr)};
}

std::string joined_text(const std::vector<Window>& windows) {
  std::string out;
  for (const auto& w : windows) {
    if (w.text.empty()) continue;
    if (!out.empty()) out += ' ';
    out += w.text;
  }
  return out;
}

void write_body(HttpResponse& res, const TranscriptionRequest& tr, const std::vector<Window>& windows,
                const Totals& totals, double duration) {
  const std::string text = joined_text(windows);
  std::vector<TranscriptSegment> segments;
  for (const auto& w : windows)
    if (!w.text.empty()) segments.push_back({w.start, w.end, w.text});
  if (tr.response_format == "text") {
    res.content_type = "text/plain; charset=utf-8";
    res.body = text + "\n";
  } else if (tr.response_format == "srt") {
    res.content_type = "text/plain; charset=utf-8";
    res.body = to_srt(segments);
  } else if (tr.response_format == "vtt") {
    res.content_type = "text/plain; charset=utf-8";
    res.body = to_vtt(segments);
  } else if (tr.response_format == "verbose_json") {
    json segs = json::array();
    for (size_t i = 0; i < windows.size(); ++i) {
      const Window& w = windows[i];
      segs.push_back({{"id", i},
                      {"seek", static_cast<int64_t>(std::llround(w.start * 100))},
                      {"start", w.start},
                      {"end", w.end},
                      {"text", w.text},
                      {"tokens", w.ids},
                      {"temperature", tr.temperature.value_or(0.0)},
                      {"avg_logprob", w.logprob_count ? w.logprob_sum / w.logprob_count : 0.0}});
    }
    std::string language = tr.translate ? "english" : to_lower(language_name(tr.language));
    json body = {{"task", tr.translate ? "translate" : "transcribe"},
                 {"language", language.empty() ? json(nullptr) : json(language)},
                 {"duration", duration},
                 {"text", text},
                 {"segments", segs},
                 {"usage", {{"type", "duration"}, {"seconds", static_cast<int64_t>(std::ceil(duration))}}}};
    res.body = dump(body);
  } else {
    res.body = dump(json{{"text", text}, {"usage", token_usage(totals)}});
  }
}

media::AudioFormat format_hint(const TranscriptionRequest& tr) {
  auto dot = tr.filename.rfind('.');
  if (dot != std::string::npos) {
    auto f = media::audio_format_from_name(tr.filename.substr(dot + 1));
    if (f != media::AudioFormat::Unknown) return f;
  }
  std::string type = to_lower(tr.file_content_type);
  if (type == "audio/mpeg" || type == "audio/mp3") return media::AudioFormat::Mp3;
  if (auto slash = type.find('/'); slash != std::string::npos)
    return media::audio_format_from_name(type.substr(slash + 1));
  return media::AudioFormat::Unknown;
}

}  // namespace

void handle_transcriptions(const HandlerContext& ctx, const HttpRequest& req, HttpResponse& res, bool translate) {
  if (req.form.empty())
    invalid("", "This endpoint expects a multipart/form-data body with 'file' and 'model' fields.", "invalid_request");
  TranscriptionRequest tr = parse_transcription_request(req.form, translate);
  check_model_name(tr.model, ctx.served);
  const pipeline::Pipeline& pipe = ctx.pipeline;
  const models::Model& model = pipe.model();
  const media::AudioLimits& limits = pipe.media_policy().audio;
  const models::Model::AudioSpec spec = model.audio_spec();
  if (!model.supports(models::Modality::Audio) || spec.sample_rate <= 0)
    throw Error(ErrorKind::Unsupported,
                "The model '" + model.id() +
                    "' does not take audio input, so it cannot transcribe: it is served without an audio encoder. "
                    "If its hub repo has one, start the server with --modalities audio (or all, the default) to "
                    "fetch it; /v1/models lists the modalities it takes.",
                "model", "unsupported_modality");

  // Decode (limits from --max-audio-seconds / --max-media-mb), then one window per encoder pass.
  media::Audio audio;
  try {
    if (limits.max_bytes && tr.file.size() > limits.max_bytes)
      invalid("file",
              "file: the upload is " + std::to_string(tr.file.size()) + " bytes, over the server's limit of " +
                  std::to_string(limits.max_bytes) + " bytes (--max-media-mb)",
              "invalid_audio");
    audio = media::decode_audio({reinterpret_cast<const uint8_t*>(tr.file.data()), tr.file.size()}, format_hint(tr),
                                spec.sample_rate, limits, "file");
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::InvalidRequest && e.param().empty())
      throw Error(e.kind(), e.what(), "file", "invalid_audio");
    throw;
  }
  tr.file.clear();
  media::WindowOptions wo;
  if (spec.window_samples > 0)
    wo.window = spec.window_samples;
  else
    wo.window = std::max<int64_t>(1, static_cast<int64_t>(audio.samples.size()));
  const std::vector<media::AudioWindow> spans = media::split_windows(audio.samples, wo);
  if (spans.empty()) invalid("file", "file: the audio has no samples", "invalid_audio");
  const double rate = static_cast<double>(audio.sample_rate);
  const double duration = static_cast<double>(audio.samples.size()) / rate;

  // Every window's prompt before the response starts, so that a processor error is still a 400:
  // one user message, the window's audio and the instruction.
  std::vector<pipeline::Message> messages(1);
  pipeline::Message& user = messages[0];
  user.role = "user";
  user.content_is_parts = true;
  user.parts.resize(2);
  pipeline::MediaSource& clip = user.parts[0].source;
  user.parts[0].type = pipeline::Modality::Audio;
  clip.kind = pipeline::MediaSource::Kind::Samples;
  clip.sample_rate = audio.sample_rate;
  user.parts[1].text = transcription_instruction(tr);
  auto windows = std::make_shared<std::vector<Window>>(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    Window& w = (*windows)[i];
    w.start = static_cast<double>(spans[i].start) / rate;
    w.end = static_cast<double>(spans[i].start + spans[i].length) / rate;
    clip.samples.assign(audio.samples.begin() + spans[i].start,
                        audio.samples.begin() + spans[i].start + spans[i].length);
    try {
      w.prompt = pipe.chat(messages);
    } catch (const Error& e) {
      if (e.location().empty()) throw;
      const std::string label =
          spans.size() == 1 ? std::string("file")
                            : "file (window " + std::to_string(i + 1) + " of " + std::to_string(spans.size()) + ")";
      throw Error(e.kind(), label + ": " + e.what(), "file", e.code());
    }
  }
  audio.samples.clear();
  audio.samples.shrink_to_fit();
  clip.samples.clear();

  const std::string id = random_id();
  ctx.trace->set_id(id);
  ctx.trace->set_shape(tr.stream, 1);
  const size_t context = pipe.engine().context_length();
  if (!tr.stream) {
    Totals totals;
    for (size_t i = 0; i < windows->size(); ++i) {
      Window& w = (*windows)[i];
      auto [prompt, gr] = window_request(id, i, w, tr, context);
      engine::RequestHandle h = pipe.submit(std::move(prompt), std::move(gr));
      if (!generate(
              h, w, totals, *ctx.trace, [](const std::string&) { return true; }, req.client_connected)) {
        ctx.trace->client_gone();
        res.status = 499;  // nobody reads it
        res.body = "{}";
        return;
      }
    }
    write_body(res, tr, *windows, totals, duration);
    return;
  }

  // Streamed: the first window is submitted now (a full queue is still a 429), the rest in turn.
  auto [prompt, gr] = window_request(id, 0, windows->front(), tr, context);
  auto first = std::make_shared<engine::RequestHandle>(pipe.submit(std::move(prompt), std::move(gr)));
  res.content_type = "text/event-stream";
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.stream = [pipe, windows, first, tr, id, context, trace = ctx.trace](StreamSink& sink) {
    Totals totals;
    TextJoiner joiner;
    std::string text;
    auto connected = [&sink] { return sink.client_connected(); };
    auto on_text = [&](const std::string& delta) {
      std::string out = joiner.push(delta);
      if (out.empty()) return sink.client_connected();
      text += out;
      return sink.write("data: " + dump(json{{"type", "transcript.text.delta"}, {"delta", out}}) + "\n\n");
    };
    try {
      for (size_t i = 0; i < windows->size(); ++i) {
        Window& w = (*windows)[i];
        joiner.start_window();
        engine::RequestHandle h;
        if (i == 0) {
          h = std::move(*first);
        } else {
          auto [next, next_gr] = window_request(id, i, w, tr, context);
          h = pipe.submit(std::move(next), std::move(next_gr));
        }
        if (!generate(h, w, totals, *trace, on_text, connected)) {
          trace->client_gone();
          return;
        }
      }
      sink.write("data: " +
                 dump(json{{"type", "transcript.text.done"}, {"text", text}, {"usage", token_usage(totals)}}) + "\n\n");
    } catch (...) {
      ApiError a = api_error(std::current_exception());
      trace->error(a);
      sink.write(error_sse(a));
    }
  };
}

}  // namespace oc::api
