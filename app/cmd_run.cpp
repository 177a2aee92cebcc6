// onnx-chat run MODEL: interactive chat on the terminal with streamed replies.
//   multi-line input: end a line with '\' to continue it, or wrap a block in """ lines
//   /reset clears the conversation, /exit (or Ctrl-D) quits, Ctrl-C stops a reply;
//   /image FILE and /audio FILE attach media to the next message.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strings.h"
#include "model_setup.h"
#include "pipeline/events.h"
#include "pipeline/pipeline.h"

namespace oc::app {
namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted = true; }

struct Turn {
  std::string role, content;
  std::vector<pipeline::ContentPart> media;  // attached with /image and /audio, before the text
  std::vector<std::string> files;            // the file of each media part
};

// The conversation as the pipeline takes it: the system prompt, then the turns (media parts
// first).
std::vector<pipeline::Message> to_messages(const std::string& system, const std::vector<Turn>& turns) {
  std::vector<pipeline::Message> out;
  if (!system.empty()) out.push_back({.role = "system", .content = system});
  for (const auto& t : turns) {
    pipeline::Message m{.role = t.role, .content = t.content};
    if (!t.media.empty()) {
      m.content_is_parts = true;
      m.parts = t.media;
      m.parts.push_back({.text = std::move(m.content)});
      m.content.clear();
    }
    out.push_back(std::move(m));
  }
  return out;
}

// A pipeline error, naming the file of the media part it is about.
Error named(const Error& e, const std::string& system, const std::vector<Turn>& turns) {
  const Location& at = e.location();
  const size_t turn = static_cast<size_t>(at.message) - (system.empty() ? 0 : 1);
  if (at.message < 0 || at.part < 0 || turn >= turns.size() || static_cast<size_t>(at.part) >= turns[turn].files.size())
    return e;
  return about_file(e, turns[turn].files[static_cast<size_t>(at.part)]);
}

// "/image FILE" or "/audio FILE": reads the file into `pending`; false when the line is not one.
bool attach(const std::string& line, const models::Model& model, Turn& pending) {
  models::Modality m;
  std::string rest;
  if (starts_with(line, "/image ")) {
    m = models::Modality::Image;
    rest = line.substr(7);
  } else if (starts_with(line, "/audio ")) {
    m = models::Modality::Audio;
    rest = line.substr(7);
  } else {
    return false;
  }
  while (!rest.empty() && rest.front() == ' ') rest.erase(rest.begin());
  if (!model.supports(m)) {
    std::fprintf(stderr, "error: %s takes no %s input\n", model.id().c_str(), models::modality_name(m));
    return true;
  }
  try {
    pending.media.push_back(media_from_file(rest, m));
    pending.files.push_back(rest);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return true;
  }
  std::printf("(attached %s: %s; it goes with your next message)\n", models::modality_name(m), rest.c_str());
  return true;
}

// Reads one user message; false at end of input.
bool read_message(std::string& out, bool interactive) {
  out.clear();
  std::string line;
  if (interactive) std::fputs("\n>>> ", stdout), std::fflush(stdout);
  if (!std::getline(std::cin, line)) return false;
  if (line == "\"\"\"" || starts_with(line, "\"\"\"")) {
    std::string first = line.substr(3);
    if (!first.empty()) out = first + "\n";
    for (;;) {
      if (interactive) std::fputs("... ", stdout), std::fflush(stdout);
      if (!std::getline(std::cin, line)) break;
      if (ends_with(line, "\"\"\"")) {
        out += line.substr(0, line.size() - 3);
        break;
      }
      out += line + "\n";
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return true;
  }
  while (ends_with(line, "\\")) {
    out += line.substr(0, line.size() - 1) + "\n";
    if (interactive) std::fputs("... ", stdout), std::fflush(stdout);
    if (!std::getline(std::cin, line)) return true;
  }
  out += line;
  return true;
}

struct RunFlags {
  bool max_tokens = false, temperature = false;  // given on the command line
};

int run_chat(Options& o, const RunFlags& given) {
  signal(SIGPIPE, SIG_IGN);
  const bool interactive = isatty(STDIN_FILENO);
  std::shared_ptr<engine::Engine> eng = load_engine(o).engine;
  const pipeline::Pipeline pipe(eng, media_policy(o));
  const models::Model& model = eng->model();
  if (interactive)
    std::printf(
        "onnx-chat: %s (%s). Type a message; '\\' at the end of a line or \"\"\" blocks for several lines;\n"
        "/reset clears the conversation, /exit quits, Ctrl-C stops a reply.\n",
        model.id().c_str(), model.info().preset.c_str());

  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: Ctrl-C at the prompt ends the read
  sigaction(SIGINT, &sa, nullptr);

  std::vector<Turn> turns;
  Turn pending;
  std::string message;
  for (;;) {
    g_interrupted = false;
    if (!read_message(message, interactive)) break;
    std::string trimmed(message);
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\n')) trimmed.pop_back();
    if (trimmed.empty()) continue;
    if (trimmed == "/exit" || trimmed == "/quit" || trimmed == "/bye") break;
    if (trimmed == "/reset" || trimmed == "/clear") {
      turns.clear();
      pending = {};
      if (interactive) std::printf("(conversation cleared)\n");
      continue;
    }
    if (trimmed == "/help" || trimmed == "/?") {
      std::printf(
          "/image FILE  attach an image to the next message\n/audio FILE  attach audio to the next message\n"
          "/reset       clear the conversation\n/exit        quit\n\"\"\"          start or end a multi-line block\n");
      continue;
    }
    if (attach(trimmed, model, pending)) continue;
    pending.role = "user";
    pending.content = message;
    turns.push_back(std::move(pending));
    pending = {};
    engine::GenerationRequest gr;
    if (given.max_tokens && o.max_tokens > 0) gr.max_tokens = o.max_tokens;
    if (given.temperature) gr.sampling.temperature = static_cast<float>(o.temperature);
    if (o.seed >= 0) gr.sampling.seed = static_cast<uint64_t>(o.seed);
    std::string reply;
    std::optional<engine::Event> done;
    try {
      engine::RequestHandle h = pipe.submit(pipe.chat(to_messages(o.system_prompt, turns)), std::move(gr));
      pipeline::EventHandler events;
      events.keep_going = [] { return !g_interrupted; };
      events.delta = [&](engine::Event& ev) {
        reply += ev.text;
        std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
        std::fflush(stdout);
        return !g_interrupted;
      };
      done = pipeline::read_events(h, events);
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", named(e, o.system_prompt, turns).what());
      pending = std::move(turns.back());  // its media are kept for the next try
      pending.content.clear();
      turns.pop_back();
      continue;
    }
    if (done && interactive && log::level() <= log::Level::Info)
      std::fprintf(stderr, "\n[%d prompt + %d tokens, %.1f tok/s]", done->usage.prompt_tokens,
                   done->usage.completion_tokens, done->timings.decode_tokens_per_s);
    std::fputs(done ? "\n" : " [stopped]\n", stdout);
    std::fflush(stdout);
    turns.push_back({"assistant", reply, {}, {}});
  }
  eng->shutdown(false);
  return 0;
}

RegisterCommand reg{{"run", "chat with a model in the terminal", [](CLI::App& cmd, Options& o) {
                       add_options(
                           cmd, o,
                           {"model-arg", "model", "preset", "revision", "modalities", "cache-dir", "download-workers",
                            "download-retries", "provider", "device-id", "threads", "spin", "matmul-precision",
                            "context", "system", "max-tokens", "temperature", "seed", "log-level"});
                       CLI::Option* max_tokens = cmd.get_option("--max-tokens");
                       CLI::Option* temperature = cmd.get_option("--temperature");
                       return [&o, max_tokens, temperature] {
                         RunFlags given;
                         given.max_tokens = max_tokens->count() > 0;
                         given.temperature = temperature->count() > 0;
                         return run_chat(o, given);
                       };
                     }}};

}  // namespace
}  // namespace oc::app
