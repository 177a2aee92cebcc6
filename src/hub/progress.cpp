#include "hub/progress.h"

#include <unistd.h>

#include <memory>

#include "common/fs.h"
#include "common/log.h"

namespace oc::hub {

std::string format_duration(double s) {
  if (s < 0) return "--";
  long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

namespace {

std::string bar(std::uint64_t done, std::uint64_t total, int width) {
  double f = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  if (f > 1) f = 1;
  int full = static_cast<int>(f * width);
  std::string out = "[";
  out.append(static_cast<std::size_t>(full), '#');
  out.append(static_cast<std::size_t>(width - full), '.');
  out += ']';
  return out;
}

int percent(std::uint64_t done, std::uint64_t total) {
  return total ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)) : 100;
}

std::string short_path(const std::string& p, std::size_t width) {
  if (p.size() <= width) return p + std::string(width - p.size(), ' ');
  return "..." + p.substr(p.size() - (width - 3));
}

}  // namespace

ProgressPrinter::ProgressPrinter(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}

void ProgressPrinter::draw(const Progress& p) {
  if (drawn_lines_ > 0) std::fprintf(out_, "\033[%dA", drawn_lines_);
  int lines = 0;
  std::fprintf(out_, "\r\033[K%s %3d%% %s / %s  %s/s  ETA %s  (%zu/%zu files)\n",
               bar(p.done_bytes, p.total_bytes, 30).c_str(), percent(p.done_bytes, p.total_bytes),
               human_bytes(p.done_bytes).c_str(), human_bytes(p.total_bytes).c_str(),
               human_bytes(static_cast<std::uint64_t>(p.rate_bps)).c_str(), format_duration(p.eta_s).c_str(),
               p.files_done, p.files_total);
  ++lines;
  for (const auto& f : p.active) {
    std::fprintf(out_, "\r\033[K  %s %s %3d%% %s\n", short_path(f.path, 40).c_str(), bar(f.done, f.total, 20).c_str(),
                 percent(f.done, f.total), human_bytes(f.total).c_str());
    ++lines;
  }
  // Clear lines left over from a taller previous block.
  for (int i = lines; i < drawn_lines_; ++i) std::fprintf(out_, "\r\033[K\n");
  if (drawn_lines_ > lines) std::fprintf(out_, "\033[%dA", drawn_lines_ - lines);
  drawn_lines_ = lines;
  std::fflush(out_);
}

void ProgressPrinter::operator()(const Progress& p) {
  if (terminal_) {
    if (p.phase == "downloading" || p.phase == "done") draw(p);
    if (p.phase == "done") drawn_lines_ = 0;
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (!p.event.empty()) {
    std::fprintf(out_, "%s\n", p.event.c_str());
  } else if (p.phase == "downloading" && now - last_line_ >= std::chrono::seconds(5)) {
    std::fprintf(out_, "progress %d%% %s / %s, %s/s, ETA %s, %zu/%zu files\n", percent(p.done_bytes, p.total_bytes),
                 human_bytes(p.done_bytes).c_str(), human_bytes(p.total_bytes).c_str(),
                 human_bytes(static_cast<std::uint64_t>(p.rate_bps)).c_str(), format_duration(p.eta_s).c_str(),
                 p.files_done, p.files_total);
    last_line_ = now;
  } else {
    return;
  }
  std::fflush(out_);
}

ProgressFn stderr_progress() {
  auto printer = std::make_shared<ProgressPrinter>(stderr, ::isatty(::fileno(stderr)) == 1);
  // Plain lines are log output: --log-level warn (or above) quiets them; a terminal bar always shows.
  return [printer](const Progress& p) {
    if (printer->terminal() || log::level() <= log::Level::Info) (*printer)(p);
  };
}

ProgressFn ProgressBoard::callback(ProgressFn forward) {
  return [state = state_, forward = std::move(forward)](const Progress& p) {
    {
      std::lock_guard lock(state->mu);
      state->latest = p;
      state->any = true;
    }
    if (forward) forward(p);
  };
}

Progress ProgressBoard::latest() const {
  std::lock_guard lock(state_->mu);
  return state_->latest;
}

bool ProgressBoard::has_progress() const {
  std::lock_guard lock(state_->mu);
  return state_->any;
}

}  // namespace oc::hub
