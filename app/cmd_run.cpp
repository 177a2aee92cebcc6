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

#include "api/chat_prompt.h"
#include "commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strings.h"
#include "model_setup.h"

namespace oc::app {
namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted = true; }

struct Turn {
  std::string role, content;
  std::vector<models::MediaInput> media;  // attached with /image and /audio, before the text
};

tmpl::Value to_messages(const std::string& system, const std::vector<Turn>& turns) {
  tmpl::Array a;
  if (!system.empty()) a.push_back(tmpl::Object{{"role", "system"}, {"content", system}});
  for (const auto& t : turns) {
    if (t.media.empty()) {
      a.push_back(tmpl::Object{{"role", t.role}, {"content", t.content}});
      continue;
    }
    tmpl::Array parts;
    for (const auto& m : t.media) parts.push_back(tmpl::Object{{"type", models::modality_name(m.modality)}});
    parts.push_back(tmpl::Object{{"type", "text"}, {"text", t.content}});
    a.push_back(tmpl::Object{{"role", t.role}, {"content", std::move(parts)}});
  }
  return a;
}

std::vector<models::MediaInput> all_media(const std::vector<Turn>& turns) {
  std::vector<models::MediaInput> out;
  for (const auto& t : turns) out.insert(out.end(), t.media.begin(), t.media.end());
  return out;
}

// "/image FILE" or "/audio FILE": reads the file into `pending`; false when the line is not one.
bool attach(const std::string& line, const models::Model& model, std::vector<models::MediaInput>& pending) {
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
    pending.push_back(media_from_file(rest, m));
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
  std::vector<models::MediaInput> pending;
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
      pending.clear();
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
    turns.push_back({"user", message, std::move(pending)});
    pending.clear();
    engine::GenerationRequest gr;
    try {
      std::string prompt = api::render_chat_prompt(model, to_messages(o.system_prompt, turns));
      gr.prompt = model.process(prompt, all_media(turns));
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      pending = std::move(turns.back().media);  // kept for the next try
      turns.pop_back();
      continue;
    }
    if (given.max_tokens && o.max_tokens > 0) gr.max_tokens = o.max_tokens;
    if (given.temperature) gr.sampling.temperature = static_cast<float>(o.temperature);
    if (o.seed >= 0) gr.sampling.seed = static_cast<uint64_t>(o.seed);
    std::string reply;
    bool stopped = false;
    try {
      engine::RequestHandle h = eng->submit(std::move(gr));
      for (;;) {
        if (g_interrupted && !stopped) {
          h.cancel();
          stopped = true;
        }
        auto ev = h.next(std::chrono::milliseconds(100));
        if (!ev) {
          if (h.finished()) break;
          continue;
        }
        if (ev->kind == engine::Event::Kind::Delta) {
          reply += ev->text;
          std::fwrite(ev->text.data(), 1, ev->text.size(), stdout);
          std::fflush(stdout);
        } else if (ev->kind == engine::Event::Kind::Done) {
          if (interactive && log::level() <= log::Level::Info)
            std::fprintf(stderr, "\n[%d prompt + %d tokens, %.1f tok/s]", ev->usage.prompt_tokens,
                         ev->usage.completion_tokens, ev->timings.decode_tokens_per_s);
          break;
        } else if (ev->kind == engine::Event::Kind::Error) {
          std::fprintf(stderr, "\nerror: %s", ev->message.c_str());
          break;
        }
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      pending = std::move(turns.back().media);  // kept for the next try
      turns.pop_back();
      continue;
    }
    std::fputs(stopped ? " [stopped]\n" : "\n", stdout);
    std::fflush(stdout);
    turns.push_back({"assistant", reply});
  }
  eng->shutdown(false);
  return 0;
}

RegisterCommand reg{{"run", "chat with a model in the terminal", [](CLI::App& cmd, Options& o) {
                       add_options(
                           cmd, o,
                           {"model-arg", "model", "preset", "revision", "modalities", "cache-dir", "download-workers",
                            "download-retries", "provider", "device-id", "threads", "matmul-precision", "context",
                            "system", "max-tokens", "temperature", "seed", "log-level"});
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
