// Download progress: a snapshot handed to a callback (the CLI draws it, the server reports it in
// /v1/models), and a printer that draws a bar on a terminal or writes plain lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace oc::hub {

struct FileProgress {
  std::string path;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};

struct Progress {
  std::string repo_id;
  std::string phase;              // "resolving", "downloading", "done"
  std::uint64_t total_bytes = 0;  // of the files this run fetches
  std::uint64_t done_bytes = 0;   // including bytes resumed from partial files
  std::size_t files_total = 0;    // files this run fetches
  std::size_t files_done = 0;
  double rate_bps = 0;  // recent transfer rate
  double eta_s = -1;    // -1: unknown
  std::vector<FileProgress> active;
  std::string event;  // what just happened, for line logs ("fetched onnx/x.onnx (1.2 GB)"), or ""
};

// Called from download threads, one call at a time; keep it quick.
using ProgressFn = std::function<void(const Progress&)>;

// Draws progress on `out`: a redrawn block (total bar + one line per active file, rate, ETA) when
// `terminal`, else one plain line per event and a summary line every few seconds.
class ProgressPrinter {
 public:
  ProgressPrinter(std::FILE* out, bool terminal);
  void operator()(const Progress& p);
  bool terminal() const { return terminal_; }

 private:
  void draw(const Progress& p);
  std::FILE* out_;
  bool terminal_;
  int drawn_lines_ = 0;
  std::chrono::steady_clock::time_point last_line_{};
};

// The latest progress, for readers on other threads (the server's /ready and /v1/models while it
// downloads at start-up). callback() records each update, then hands it to `forward` if set.
class ProgressBoard {
 public:
  ProgressFn callback(ProgressFn forward = {});
  Progress latest() const;
  bool has_progress() const;

 private:
  struct State {
    mutable std::mutex mu;
    Progress latest;
    bool any = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// A printer for stderr that draws a bar when stderr is a terminal.
ProgressFn stderr_progress();

// "1m05s" / "12s" / "--".
std::string format_duration(double seconds);

}  // namespace oc::hub
