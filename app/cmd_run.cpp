// onnx-chat run MODEL: interactive chat on the terminal with streamed replies.
//   multi-line input: end a line with '\' to continue it, or wrap a block in """ lines
//   /reset clears the conversation, /exit (or Ctrl-D) quits, Ctrl-C stops a reply.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "api/chat_prompt.h"
#include "commands.h"
#include "common/error.h"
#include "common/log.h"
#include "common/strings.h"
#include "model_setup.h"

namespace oc::app {
namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted = true; }

struct Turn {
  std::string role, content;
};

tmpl::Value to_messages(const std::string& system, const std::vector<Turn>& turns) {
  tmpl::Array a;
  if (!system.empty()) a.push_back(tmpl::Object{{"role", "system"}, {"content", system}});
  for (const auto& t : turns) a.push_back(tmpl::Object{{"role", t.role}, {"content", t.content}});
  return a;
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
      if (interactive) std::printf("(conversation cleared)\n");
      continue;
    }
    if (trimmed == "/help" || trimmed == "/?") {
      std::printf("/reset  clear the conversation\n/exit   quit\n\"\"\"     start or end a multi-line block\n");
      continue;
    }
    turns.push_back({"user", message});
    engine::GenerationRequest gr;
    try {
      std::string prompt = api::render_chat_prompt(model, to_messages(o.system_prompt, turns));
      gr.prompt = model.process(prompt);
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
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
                       add_options(cmd, o,
                                   {"model-arg", "model", "preset", "revision", "modalities", "cache-dir",
                                    "download-workers", "download-retries", "provider", "device-id", "threads",
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
