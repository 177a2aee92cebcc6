#include "hub/download.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace oc::hub {
namespace {

using Clock = std::chrono::steady_clock;

// Shared progress state: totals, active files, a recent rate; calls the callback throttled.
class Tracker {
 public:
  Tracker(const ProgressFn& fn, std::string repo_id, std::size_t files, std::uint64_t bytes) : fn_(fn) {
    p_.repo_id = std::move(repo_id);
    p_.phase = "downloading";
    p_.files_total = files;
    p_.total_bytes = bytes;
    start_ = Clock::now();
  }

  void event(const std::string& text) {
    std::lock_guard lock(mu_);
    p_.event = text;
    emit_locked(true);
    p_.event.clear();
  }
  void start_file(const std::string& path, std::uint64_t total, std::uint64_t resumed) {
    std::lock_guard lock(mu_);
    p_.active.push_back({path, resumed, total});
    p_.done_bytes += resumed;
    emit_locked(false);
  }
  // The file restarts from zero (the server ignored the range, or the partial file was bad).
  void restart_file(const std::string& path) {
    std::lock_guard lock(mu_);
    for (auto& f : p_.active)
      if (f.path == path) {
        p_.done_bytes -= std::min(p_.done_bytes, f.done);
        f.done = 0;
      }
  }
  void add(const std::string& path, std::uint64_t n) {
    std::lock_guard lock(mu_);
    transferred_ += n;
    p_.done_bytes += n;
    for (auto& f : p_.active)
      if (f.path == path) f.done += n;
    emit_locked(false);
  }
  void finish_file(const std::string& path, bool ok, const std::string& text) {
    std::lock_guard lock(mu_);
    auto it = std::find_if(p_.active.begin(), p_.active.end(), [&](const FileProgress& f) { return f.path == path; });
    if (it != p_.active.end()) {
      if (ok && it->done < it->total) p_.done_bytes += it->total - it->done;
      p_.active.erase(it);
    }
    if (ok) ++p_.files_done;
    p_.event = text;
    emit_locked(true);
    p_.event.clear();
  }
  void done(const std::string& text) {
    std::lock_guard lock(mu_);
    p_.phase = "done";
    p_.active.clear();
    p_.eta_s = 0;
    p_.event = text;
    emit_locked(true);
  }
  std::uint64_t transferred() const {
    std::lock_guard lock(mu_);
    return transferred_;
  }

 private:
  void emit_locked(bool force) {
    auto now = Clock::now();
    samples_.push_back({now, transferred_});
    while (samples_.size() > 2 && now - samples_.front().first > std::chrono::seconds(5)) samples_.pop_front();
    if (!force && now - last_emit_ < std::chrono::milliseconds(100)) return;
    last_emit_ = now;
    double window = std::chrono::duration<double>(now - samples_.front().first).count();
    if (window > 0.2) p_.rate_bps = static_cast<double>(transferred_ - samples_.front().second) / window;
    std::uint64_t left = p_.total_bytes > p_.done_bytes ? p_.total_bytes - p_.done_bytes : 0;
    p_.eta_s = p_.rate_bps > 0 ? static_cast<double>(left) / p_.rate_bps : (left ? -1 : 0);
    if (fn_) fn_(p_);
  }

  const ProgressFn& fn_;
  mutable std::mutex mu_;
  Progress p_;
  Clock::time_point start_, last_emit_{};
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;
  std::uint64_t transferred_ = 0;
};

struct Cancelled {};

// A failure another attempt may fix (a reset connection, a 5xx, a short body).
struct Retryable {
  std::string why;
};

class Fetcher {
 public:
  Fetcher(const HubClient& client, const RepoCache& cache, const std::string& commit, const DownloadOptions& options,
          Tracker& tracker, std::atomic<bool>& cancel)
      : client_(client), cache_(cache), commit_(commit), opt_(options), tracker_(tracker), cancel_(cancel) {}

  // Fetches one file into the cache and links it into the snapshot.
  void fetch(const DownloadItem& item) {
    FileMetadata meta =
        with_retries(item.path, [&] { return client_.file_metadata(cache_.repo_id(), commit_, item.path); });
    if (meta.etag.empty())
      throw Error(ErrorKind::Unavailable, "the hub sent no ETag for " + item.path + " in " + cache_.repo_id(), "",
                  "hub_error");
    if (meta.etag.find('/') != std::string::npos || meta.etag == "." || meta.etag == "..")
      throw Error(ErrorKind::Unavailable, "the hub sent an unusable ETag for " + item.path, "", "hub_error");
    const bool has_size = item.has_size || meta.has_size;
    const std::uint64_t size = item.has_size ? item.size : meta.size;
    FileLock lock(cache_.lock_file(meta.etag));
    fs::path blob = cache_.blob(meta.etag);
    std::error_code ec;
    if (fs::is_regular_file(blob, ec)) {
      bool ok = !has_size || file_size_or_zero(blob) == size;
      if (ok && opt_.verify && !item.sha256.empty()) ok = sha256_file(blob) == item.sha256;
      if (ok) {
        cache_.link(commit_, item.path, meta.etag);
        tracker_.start_file(item.path, size, size);
        tracker_.finish_file(item.path, true, "cached " + item.path + " (" + human_bytes(size) + ")");
        return;
      }
      log::warn("hub: the cached blob of " + item.path + " is corrupted; fetching it again");
      fs::remove(blob, ec);
    }
    fs::path part = cache_.incomplete(meta.etag);
    fs::create_directories(part.parent_path(), ec);
    std::uint64_t resumed = file_size_or_zero(part);
    if (has_size && resumed > size) {
      fs::remove(part, ec);
      resumed = 0;
    }
    tracker_.start_file(item.path, has_size ? size : 0, resumed);
    if (resumed > 0) log::info("hub: resuming " + item.path + " at " + human_bytes(resumed));
    std::string digest;
    with_retries(item.path, [&] {
      digest = transfer(item, meta.location, part, has_size, size);
      return 0;
    });
    if (!item.sha256.empty() && digest != item.sha256) {
      fs::remove(part, ec);
      tracker_.finish_file(item.path, false, "");
      throw Error(ErrorKind::ModelLoad,
                  "checksum mismatch for " + item.path + " of " + cache_.repo_id() + ": expected sha256 " +
                      item.sha256 + ", got " + digest + " (the bad download was removed; run again)",
                  "", "checksum_mismatch");
    }
    fs::rename(part, blob, ec);
    if (ec) throw Error(ErrorKind::ModelLoad, "cache: cannot move " + part.string() + " into place: " + ec.message());
    cache_.link(commit_, item.path, meta.etag);
    tracker_.finish_file(item.path, true, "fetched " + item.path + " (" + human_bytes(file_size_or_zero(blob)) + ")");
  }

 private:
  template <typename F>
  auto with_retries(const std::string& path, F&& f) -> decltype(f()) {
    for (int attempt = 0;; ++attempt) {
      if (cancel_) throw Cancelled{};
      try {
        return f();
      } catch (const Retryable& e) {
        if (cancel_) throw Cancelled{};
        if (attempt >= opt_.retries)
          throw Error(ErrorKind::Unavailable,
                      "download of " + path + " failed after " + std::to_string(attempt + 1) + " attempt(s): " + e.why +
                          " (run again to resume)",
                      "", "download_failed");
        long wait = std::min<long>(8000, static_cast<long>(opt_.backoff_ms) << std::min(attempt, 10));
        log::warn("hub: " + path + ": " + e.why + "; retrying in " + std::to_string(wait) + " ms");
        sleep_ms(wait);
      } catch (const Error& e) {
        // Transport failures of metadata requests are retryable too; answers like 401/404 are not.
        if (e.code() != "hub_unreachable" && e.code() != "hub_error") throw;
        if (cancel_) throw Cancelled{};
        if (attempt >= opt_.retries) throw;
        long wait = std::min<long>(8000, static_cast<long>(opt_.backoff_ms) << std::min(attempt, 10));
        log::warn("hub: " + path + ": " + e.what() + "; retrying in " + std::to_string(wait) + " ms");
        sleep_ms(wait);
      }
    }
  }

  void sleep_ms(long ms) {
    auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < until && !cancel_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // One attempt: appends to the partial file from where it ends; returns the sha256 of the whole
  // file when one is expected (else ""). Throws Retryable for what another attempt may fix.
  std::string transfer(const DownloadItem& item, const std::string& url, const fs::path& part, bool has_size,
                       std::uint64_t size) {
    std::uint64_t offset = file_size_or_zero(part);
    const bool hashing = !item.sha256.empty();
    auto hasher = std::make_unique<Sha256>();
    if (hashing && offset > 0) sha256_update_from_file(*hasher, part, offset);
    if (has_size && offset == size) {
      if (size == 0) std::unique_ptr<FILE, int (*)(FILE*)>(std::fopen(part.c_str(), "ab"), &std::fclose);  // empty file
      return hashing ? hasher->hex_digest() : std::string();
    }

    std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(part.c_str(), "ab"), &std::fclose);
    if (!out) throw Error(ErrorKind::ModelLoad, "cache: cannot write " + part.string());
    HttpRequest req;
    req.url = url;
    req.headers = client_.headers_for(url);
    req.range_start = offset;
    req.connect_timeout_s = client_.config().download_timeout_s;
    req.stall_timeout_s = std::max(30L, client_.config().download_timeout_s);
    bool first = true;
    std::uint64_t written = offset;
    bool write_failed = false;
    auto sink = [&](long status, const char* data, std::size_t n) {
      if (cancel_) return false;
      if (first) {
        first = false;
        if (status == 200 && offset > 0) {  // the server ignored the range: start over
          if (::ftruncate(::fileno(out.get()), 0) != 0) return false;
          std::fseek(out.get(), 0, SEEK_SET);
          hasher = std::make_unique<Sha256>();
          tracker_.restart_file(item.path);
          written = 0;
        }
      }
      if (std::fwrite(data, 1, n, out.get()) != n) {
        write_failed = true;
        return false;
      }
      if (hashing) hasher->update(data, n);
      written += n;
      tracker_.add(item.path, n);
      return true;
    };
    HttpResponse r;
    try {
      r = http_request(req, sink);
    } catch (const TransportError& e) {
      std::fflush(out.get());
      if (write_failed)
        throw Error(ErrorKind::ModelLoad, "cache: cannot write " + part.string() + " (disk full?)", "", "disk_full");
      if (cancel_) throw Cancelled{};
      throw Retryable{std::string(e.what()) + " at byte " + std::to_string(written)};
    }
    if (r.status == 416) {  // nothing left to send from this offset: the partial file is bad
      out.reset();
      std::error_code ec;
      fs::remove(part, ec);
      tracker_.restart_file(item.path);
      throw Retryable{"the server refused the resume offset " + std::to_string(offset)};
    }
    if (r.status < 200 || r.status >= 300) {
      if (is_transient_status(r.status)) throw Retryable{"HTTP " + std::to_string(r.status)};
      client_.raise(r, cache_.repo_id(), commit_, item.path);
    }
    if (std::fflush(out.get()) != 0 || ::fsync(::fileno(out.get())) != 0)
      throw Error(ErrorKind::ModelLoad, "cache: cannot write " + part.string() + " (disk full?)", "", "disk_full");
    out.reset();
    if (has_size && written != size) {
      if (written > size) {
        std::error_code ec;
        fs::remove(part, ec);
        tracker_.restart_file(item.path);
      }
      throw Retryable{"got " + std::to_string(written) + " of " + std::to_string(size) + " bytes"};
    }
    return hashing ? hasher->hex_digest() : std::string();
  }

  const HubClient& client_;
  const RepoCache& cache_;
  const std::string& commit_;
  const DownloadOptions& opt_;
  Tracker& tracker_;
  std::atomic<bool>& cancel_;
};

// The nearest existing folder of a path, for a free-space query.
fs::path existing_parent(fs::path p) {
  std::error_code ec;
  while (!p.empty() && !fs::exists(p, ec)) {
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  return p.empty() ? fs::path(".") : p;
}

}  // namespace

DownloadResult fetch_files(const HubClient& client, const RepoCache& cache, const std::string& commit,
                           const std::vector<DownloadItem>& items, const DownloadOptions& options) {
  DownloadResult result;
  std::vector<const DownloadItem*> todo;
  for (const auto& item : items) {
    fs::path link = cache.snapshot_file(commit, item.path);
    std::error_code ec;
    if (fs::is_regular_file(link, ec)) {
      bool ok = !item.has_size || file_size_or_zero(link) == item.size;
      if (ok && options.verify && !item.sha256.empty()) ok = sha256_file(link) == item.sha256;
      if (ok) {
        ++result.cached_files;
        continue;
      }
      // The blob behind the link is corrupted: drop it so that it is fetched again.
      log::warn("hub: the cached " + item.path + " of " + cache.repo_id() + " is corrupted (" +
                (file_size_or_zero(link) != item.size ? "wrong size" : "sha256 mismatch") + "); fetching it again");
      fs::path target = fs::weakly_canonical(link, ec);
      if (!ec) fs::remove(target, ec);
      fs::remove(link, ec);
      ++result.repaired_files;
    }
    todo.push_back(&item);
  }
  if (todo.empty()) return result;

  std::uint64_t need = 0, total = 0;
  for (const auto* item : todo) {
    total += item->size;
    std::uint64_t have = item->sha256.empty() ? 0 : file_size_or_zero(cache.incomplete(item->sha256));
    if (item->size > have) need += item->size - have;
  }
  std::error_code ec;
  fs::create_directories(cache.root() / "blobs", ec);
  if (ec)
    throw Error(ErrorKind::ModelLoad,
                "cache: cannot create " + (cache.root() / "blobs").string() + ": " + ec.message());
  auto space = fs::space(existing_parent(cache.root() / "blobs"), ec);
  const std::uint64_t margin = 64ull << 20;
  if (!ec && space.available < need + margin)
    throw Error(ErrorKind::ModelLoad,
                "not enough disk space in " + cache.cache_dir().string() + ": " + cache.repo_id() + " needs " +
                    human_bytes(need) + ", " + human_bytes(space.available) + " free",
                "", "disk_space");

  Tracker tracker(options.progress, cache.repo_id(), todo.size(), total);
  tracker.event("downloading " + std::to_string(todo.size()) + " file(s), " + human_bytes(total) + ", from " +
                cache.repo_id() + "@" + commit.substr(0, 8));
  std::atomic<bool> cancel{false};
  std::atomic<std::size_t> next{0};
  std::mutex err_mu;
  std::exception_ptr first_error;
  auto worker = [&] {
    Fetcher fetcher(client, cache, commit, options, tracker, cancel);
    for (;;) {
      std::size_t i = next++;
      if (i >= todo.size() || cancel) return;
      try {
        fetcher.fetch(*todo[i]);
      } catch (const Cancelled&) {
        return;
      } catch (...) {
        std::lock_guard lock(err_mu);
        if (!first_error) first_error = std::current_exception();
        cancel = true;
        return;
      }
    }
  };
  const int n = std::max(1, std::min<int>(options.workers, static_cast<int>(todo.size())));
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
  result.fetched_files = todo.size();
  result.downloaded_bytes = tracker.transferred();
  tracker.done("downloaded " + human_bytes(result.downloaded_bytes) + " in " + std::to_string(todo.size()) +
               " file(s) from " + cache.repo_id());
  return result;
}

}  // namespace oc::hub
