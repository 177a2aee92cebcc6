#include "hub/cache.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/fs.h"
#include "common/sha256.h"

namespace fs = std::filesystem;

TEST(Cache, FolderNames) {
  EXPECT_EQ(oc::hub::repo_folder_name("onnx-community/gemma"), "models--onnx-community--gemma");
  EXPECT_EQ(oc::hub::repo_id_from_folder("models--onnx-community--gemma"), "onnx-community/gemma");
  EXPECT_EQ(oc::hub::repo_id_from_folder("models--gpt2"), "gpt2");
  EXPECT_FALSE(oc::hub::repo_id_from_folder("datasets--a--b"));
}

TEST(Cache, LayoutLinksRefsAndGarbage) {
  fs::path dir = fs::temp_directory_path() / "oc_hub_cache_test";
  fs::remove_all(dir);
  oc::hub::RepoCache rc(dir, "org/name");
  EXPECT_EQ(rc.blob("abc"), dir / "models--org--name/blobs/abc");
  EXPECT_EQ(rc.incomplete("abc"), dir / "models--org--name/blobs/abc.incomplete");
  EXPECT_EQ(rc.lock_file("abc"), dir / ".locks/models--org--name/abc.lock");
  const std::string commit(40, 'a');
  fs::create_directories(rc.blob("x").parent_path());
  std::ofstream(rc.blob("e1")) << "hello";
  std::ofstream(rc.blob("e2")) << "unused!";
  std::ofstream(rc.incomplete("e3")) << "par";
  rc.link(commit, "onnx/model.onnx", "e1");
  rc.link(commit, "config.json", "e1");
  EXPECT_EQ(fs::read_symlink(rc.snapshot_file(commit, "onnx/model.onnx")), fs::path("../../../blobs/e1"));
  EXPECT_EQ(fs::read_symlink(rc.snapshot_file(commit, "config.json")), fs::path("../../blobs/e1"));
  EXPECT_EQ(oc::read_file(rc.snapshot_file(commit, "onnx/model.onnx")), "hello");
  rc.write_ref("main", commit);
  EXPECT_EQ(rc.read_ref("main"), commit);
  EXPECT_EQ(rc.commit_for("main"), commit);
  EXPECT_EQ(rc.commit_for(commit), commit);
  EXPECT_FALSE(rc.commit_for("dev"));
  EXPECT_EQ(rc.snapshot_files(commit), (std::vector<std::string>{"config.json", "onnx/model.onnx"}));

  auto repos = oc::hub::scan_cache(dir);
  ASSERT_EQ(repos.size(), 1u);
  EXPECT_EQ(repos[0].repo_id, "org/name");
  EXPECT_EQ(repos[0].size_on_disk, 12u);
  EXPECT_EQ(repos[0].partial_bytes, 3u);
  ASSERT_EQ(repos[0].snapshots.size(), 1u);
  EXPECT_EQ(repos[0].snapshots[0].refs, std::vector<std::string>{"main"});
  EXPECT_EQ(repos[0].snapshots[0].size, 10u);

  EXPECT_EQ(oc::hub::collect_garbage(rc), 7u);
  EXPECT_TRUE(fs::exists(rc.blob("e1")));
  EXPECT_FALSE(fs::exists(rc.blob("e2")));
  EXPECT_TRUE(fs::exists(rc.incomplete("e3")));
  fs::remove_all(dir);
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(oc::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(oc::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string million(1000000, 'a');
  EXPECT_EQ(oc::sha256_hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  oc::Sha256 h;  // split updates agree with one
  h.update(std::string_view(million).substr(0, 12345));
  h.update(std::string_view(million).substr(12345));
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

#include <thread>

#include "hub/progress.h"

TEST(Progress, BoardKeepsTheLatestAndForwards) {
  oc::hub::ProgressBoard board;
  int forwarded = 0;
  auto fn = board.callback([&](const oc::hub::Progress&) { ++forwarded; });
  EXPECT_FALSE(board.has_progress());
  oc::hub::Progress p;
  p.phase = "downloading";
  p.done_bytes = 5;
  std::thread t([&] { fn(p); });
  t.join();
  EXPECT_TRUE(board.has_progress());
  EXPECT_EQ(board.latest().done_bytes, 5u);
  EXPECT_EQ(forwarded, 1);
  EXPECT_EQ(oc::hub::format_duration(65), "1m05s");
  EXPECT_EQ(oc::hub::format_duration(-1), "--");
}
